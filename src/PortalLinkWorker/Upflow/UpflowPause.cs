namespace PortalLinkWorker.Upflow;

/// <summary>Why Upflow calls are paused.</summary>
public enum UpflowPause
{
    None,

    /// <summary>Upflow fails for every message (5xx, timeouts, connection errors).</summary>
    Outage,

    /// <summary>Upflow refuses the API key pair (401/403).</summary>
    Credentials,

    /// <summary>Upflow answers 2xx, but no portal URL can be read from the answer (<see cref="UnreadableAnswer"/>).</summary>
    AnswerUnreadable,
}
