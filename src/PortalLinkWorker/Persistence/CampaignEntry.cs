namespace PortalLinkWorker.Persistence;

/// <summary>One customer of a campaign, with its settings resolved (its own, else the campaign's).</summary>
/// <param name="ItemNo">1-based position in the campaign: stable across re-runs of the same start.</param>
/// <param name="CustomerId">Upflow UUID or <c>external:&lt;id&gt;</c>.</param>
/// <param name="ExpiresIn">Seconds; null for Upflow's default.</param>
/// <param name="FrameAncestors">Host names allowed to embed the portal; null when not embedding.</param>
/// <param name="ReuseIfValidFor">The campaign's, when the item is read to be sent; not stored per item.</param>
public sealed record CampaignEntry(int ItemNo, string CustomerId, int? ExpiresIn, string? FrameAncestors, int? ReuseIfValidFor = null);
