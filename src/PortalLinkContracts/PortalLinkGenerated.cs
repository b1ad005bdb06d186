namespace PortalLinkContracts;

/// <summary>Event: the portal link for a request exists. Published at least once per request; deduplicate by RequestId.</summary>
/// <param name="RequestId">The RequestId of the <see cref="GeneratePortalLink"/> this answers.</param>
/// <param name="CustomerId">The customer id as it was requested.</param>
/// <param name="Url">The portal URL. It is a bearer credential: whoever has it sees the customer's invoices. Do not log it.</param>
/// <param name="ExpiresAt">When the link stops working.</param>
/// <param name="GeneratedAt">When Upflow issued the link.</param>
/// <param name="CampaignId">The bulk campaign of the request, if any.</param>
public sealed record PortalLinkGenerated(
    Guid RequestId,
    string CustomerId,
    string Url,
    DateTimeOffset ExpiresAt,
    DateTimeOffset GeneratedAt,
    Guid? CampaignId);
