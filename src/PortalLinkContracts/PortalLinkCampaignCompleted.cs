namespace PortalLinkContracts;

/// <summary>
/// Event: every link of a campaign is final (generated or failed). Published once per run of the campaign: when the
/// start's links are all final, and again after each <c>campaign retry-failed</c> once the retried links are final.
/// Delivery is at least once with a stable message id per run (a crash between the publish and its bookkeeping repeats
/// it): subscribers deduplicate by message id, or by <see cref="CampaignId"/> and the counts.
/// </summary>
/// <param name="CampaignId">The campaign, as given in <see cref="StartPortalLinkCampaign"/> or by <c>campaign start</c>.</param>
/// <param name="Name">The campaign's name.</param>
/// <param name="Total">Customers in the campaign (one link each).</param>
/// <param name="Generated">Customers whose latest attempt produced a link.</param>
/// <param name="Failed">Customers whose latest attempt failed (see <see cref="PortalLinkFailed"/> for each reason).</param>
/// <param name="CompletedAt">When the last link became final.</param>
public sealed record PortalLinkCampaignCompleted(
    Guid CampaignId,
    string Name,
    int Total,
    int Generated,
    int Failed,
    DateTimeOffset CompletedAt);
