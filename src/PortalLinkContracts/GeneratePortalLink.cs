namespace PortalLinkContracts;

/// <summary>
/// Command: create an Upflow Customer Portal link for one customer.
/// Publish it, or Send it to the queue <c>generate-portal-link</c>.
/// </summary>
/// <param name="RequestId">The publisher's idempotency key. Sending the same RequestId again never creates a second link:
/// the stored outcome is published again.</param>
/// <param name="CustomerId">Upflow's customer UUID, or <c>external:&lt;id&gt;</c> for the id in your ERP (e.g. a NetSuite internal id).</param>
/// <param name="ExpiresIn">How long the link stays valid, in seconds. Null means Upflow's default, 86400 (one day).</param>
/// <param name="FrameAncestors">Space-separated host names allowed to embed the portal in an iframe; null when not embedding.</param>
/// <param name="CampaignId">The bulk campaign this request belongs to, if any.</param>
/// <param name="ReuseIfValidFor">Seconds. When set, a link already generated for the same customer with the same
/// <paramref name="FrameAncestors"/> that stays valid for at least this long is answered again (its URL and ExpiresAt, this
/// request's RequestId) without calling Upflow; otherwise a new link is made. Null (the default) always makes a new link.</param>
public sealed record GeneratePortalLink(
    Guid RequestId,
    string CustomerId,
    int? ExpiresIn = null,
    string? FrameAncestors = null,
    Guid? CampaignId = null,
    int? ReuseIfValidFor = null);
