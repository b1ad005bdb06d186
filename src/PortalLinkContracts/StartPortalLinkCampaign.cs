namespace PortalLinkContracts;

/// <summary>
/// Command: get a portal link to each of many customers at once (a campaign). Publish it, or Send it to the queue
/// <c>start-portal-link-campaign</c>. Starting the same <paramref name="CampaignId"/> again does not double the campaign:
/// each customer is enqueued once. The links are generated on a lane of their own, behind live requests, and
/// <see cref="PortalLinkCampaignCompleted"/> is published when every one of them is final.
/// </summary>
/// <param name="CampaignId">The campaign's idempotency key; each generated link carries it as its <c>CampaignId</c>.</param>
/// <param name="Name">A name for people (e.g. "December dunning"); it comes back in <see cref="PortalLinkCampaignCompleted"/>.</param>
/// <param name="CustomerIds">Upflow customer UUIDs or <c>external:&lt;id&gt;</c> ids, one link each; an invalid id fails
/// as <c>InvalidRequest</c> and counts as failed.</param>
/// <param name="ExpiresIn">How long each link stays valid, in seconds. Null means Upflow's default, 86400 (one day).</param>
/// <param name="FrameAncestors">Space-separated host names allowed to embed the portal in an iframe; null when not embedding.</param>
/// <param name="ReuseIfValidFor">Seconds: each customer that already has a link (same FrameAncestors) valid for at least
/// this long gets that link again instead of a new one (see <see cref="GeneratePortalLink.ReuseIfValidFor"/>); null always
/// makes new links.</param>
public sealed record StartPortalLinkCampaign(
    Guid CampaignId,
    string Name,
    string[] CustomerIds,
    int? ExpiresIn = null,
    string? FrameAncestors = null,
    int? ReuseIfValidFor = null);
