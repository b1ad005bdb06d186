namespace PortalLinkWorker.Persistence;

/// <summary>What a campaign start says about the campaign as a whole.</summary>
/// <param name="CampaignId">The campaign's idempotency key.</param>
/// <param name="Name">A name for people.</param>
/// <param name="ExpiresIn">The campaign-wide lifetime in seconds (an item of a CSV may have its own); null for Upflow's default.</param>
/// <param name="FrameAncestors">The campaign-wide embedding hosts; null when not embedding.</param>
/// <param name="ReuseIfValidFor">Seconds: each request reuses a stored link valid at least this long (see
/// <c>GeneratePortalLink.ReuseIfValidFor</c>); null always makes new links.</param>
public sealed record CampaignDefinition(Guid CampaignId, string Name, int? ExpiresIn, string? FrameAncestors, int? ReuseIfValidFor = null);
