namespace PortalLinkWorker.Upflow;

/// <summary>The phase of <see cref="UpflowPaceState"/>.</summary>
public enum UpflowPhase
{
    /// <summary>Calls go out, paced at the rate.</summary>
    Calling,

    /// <summary>Upflow answered 429: every call of the account waits for the pause's end.</summary>
    RateLimited,

    /// <summary>Upflow fails for everyone: one queued request tries per interval.</summary>
    Outage,

    /// <summary>Upflow refuses the API key pair: one queued request tries per interval.</summary>
    CredentialsRefused,

    /// <summary>Upflow answers 2xx without a portal URL we can read: one queued request tries per interval.</summary>
    AnswerUnreadable,
}
