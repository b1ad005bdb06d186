namespace PortalLinkWorker.Upflow;

/// <summary>Which lane a request travels on. Both draw on the one Upflow budget; live requests (someone is waiting)
/// go first, campaign (bulk) requests take what live requests leave.</summary>
public enum UpflowLane
{
    /// <summary>A request from <c>generate-portal-link</c>: someone is waiting for it.</summary>
    Live,

    /// <summary>A campaign item from <c>generate-portal-link-bulk</c>.</summary>
    Bulk,
}
