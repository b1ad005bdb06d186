namespace PortalLinkWorker.TestKit;

/// <summary>What the observer bus saw for a request.</summary>
public enum OutcomeKind
{
    /// <summary><c>PortalLinkGenerated</c>.</summary>
    Generated,

    /// <summary><c>PortalLinkFailed</c>.</summary>
    Failed,

    /// <summary><c>Fault&lt;GeneratePortalLink&gt;</c>: the worker gave up on the message without an outcome event.</summary>
    Faulted,
}
