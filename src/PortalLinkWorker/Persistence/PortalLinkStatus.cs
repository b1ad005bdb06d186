namespace PortalLinkWorker.Persistence;

/// <summary>The values of <c>portal_links.status</c>. pending → generated | failed; the last two are final.</summary>
public static class PortalLinkStatus
{
    public const string Pending = "pending";
    public const string Generated = "generated";
    public const string Failed = "failed";
}
