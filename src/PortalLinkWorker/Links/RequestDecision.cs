using PortalLinkWorker.Persistence;

namespace PortalLinkWorker.Links;

/// <summary>What <see cref="PortalLinkRequestHandler"/> does next with a request: a closed set of cases that
/// <see cref="IncomingRequest.Start"/> and <see cref="IncomingRequest.Decide"/> choose from the message, its checks and
/// its stored row alone, with no I/O. The handler carries each one out.</summary>
public abstract record RequestDecision
{
    private RequestDecision() { }

    /// <summary>No RequestId: there is nothing to record the outcome under. <c>PortalLinkFailed</c> (InvalidRequest) is
    /// published and nothing is stored.</summary>
    public sealed record RejectUnrecorded(string Problem) : RequestDecision;

    /// <summary>Record <see cref="Pending"/> unless its RequestId is known, lock its row and, for a valid request, its
    /// customer (never two Upflow calls for one customer at once, in any replica); then <see cref="IncomingRequest.Decide"/>
    /// with the row.</summary>
    public sealed record Lock(PortalLink Pending, bool LockCustomer) : RequestDecision;

    /// <summary>The RequestId was used before for another customer: answering with the stored outcome would hand one
    /// customer's link to another. <c>PortalLinkFailed</c> (InvalidRequest); the stored request is left as it is.</summary>
    public sealed record RejectReused(string Problem) : RequestDecision;

    /// <summary>The request has its outcome already (a redelivery, a copy): it is published again, Upflow is not called.</summary>
    public sealed record Republish : RequestDecision;

    /// <summary>The request has its link already, but the link expired and its URL was erased after
    /// <c>Database:UrlRetention</c>: nothing is published again (an expired URL is of no use), and Upflow is not called.</summary>
    public sealed record ErasedLink : RequestDecision;

    /// <summary>The request is invalid: it is saved as failed (InvalidRequest) without calling Upflow.</summary>
    public sealed record SaveInvalid(string Problem) : RequestDecision;

    /// <summary>Ask Upflow for the link.</summary>
    public sealed record CallUpflow : RequestDecision;
}
