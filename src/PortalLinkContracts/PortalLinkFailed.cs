namespace PortalLinkContracts;

/// <summary>Event: no link will be created for this request. Published at least once per request; deduplicate by RequestId.</summary>
/// <param name="RequestId">The RequestId of the <see cref="GeneratePortalLink"/> this answers.</param>
/// <param name="CustomerId">The customer id as it was requested.</param>
/// <param name="Reason">One of the constants of <see cref="PortalLinkFailureReason"/>.</param>
/// <param name="Message">A sentence for a person: what was wrong.</param>
/// <param name="FailedAt">When the request was judged final.</param>
/// <param name="CampaignId">The bulk campaign of the request, if any.</param>
public sealed record PortalLinkFailed(
    Guid RequestId,
    string CustomerId,
    string Reason,
    string Message,
    DateTimeOffset FailedAt,
    Guid? CampaignId);
