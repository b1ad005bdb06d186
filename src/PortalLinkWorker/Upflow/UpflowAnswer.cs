namespace PortalLinkWorker.Upflow;

/// <summary>What one portal-link request to Upflow came to, after retries and pauses: a closed set of cases the caller
/// switches over.</summary>
public abstract record UpflowAnswer
{
    private UpflowAnswer() { }

    /// <summary>Upflow issued a link. <see cref="Url"/> is a bearer credential: never log it.</summary>
    public sealed record Issued(string Url, DateTimeOffset ExpiresAt, DateTimeOffset IssuedAt) : UpflowAnswer;

    /// <summary>Upflow will never issue a link for this request as it stands (404, another 4xx, an answer without a
    /// link). <see cref="Reason"/> is a <c>PortalLinkFailureReason</c> constant.</summary>
    public sealed record Refused(string Reason, string Message, int? StatusCode) : UpflowAnswer;

    /// <summary>Upflow kept failing (no answer, 5xx, 408, timeouts) until the retries ran out. Whether that is this
    /// request's failure or an outage for everyone is the caller's question (<see cref="UpflowAvailability.LastAnsweredAt"/>).</summary>
    public sealed record Unavailable(string Message, int? StatusCode, DateTimeOffset FirstAttemptAt) : UpflowAnswer;

    /// <summary>Upflow calls are paused (a 429 pause longer than a message may wait, an outage, refused credentials): no
    /// outcome; the request must be tried later. <see cref="Until"/> is known for a 429's reset; <see cref="FirstTriedAt"/>
    /// is when a request that found Upflow down first tried it, carried with the message to its next delivery.</summary>
    public sealed record Paused(string Why, DateTimeOffset? Until, DateTimeOffset? FirstTriedAt = null) : UpflowAnswer;
}
