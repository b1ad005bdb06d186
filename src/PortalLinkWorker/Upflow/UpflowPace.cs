namespace PortalLinkWorker.Upflow;

/// <summary>
/// The one owner, in this process, of "may we call Upflow now, and how fast": the account's shared rate and 429 pause
/// (<see cref="RateBudget"/>, whose truth is the row every replica shares) and whether Upflow can be called at all
/// (<see cref="UpflowAvailability"/>: outage, refused credentials, the half-open trial). Everything else — the call gate,
/// the request handler, the consumption switch, health and the status page — asks here and nowhere else.
/// </summary>
public sealed class UpflowPace(RateBudget budget, UpflowAvailability availability, TimeProvider time)
{
    /// <summary>Raised when calls pause for an outage, refused credentials or an unreadable answer, turn half-open, or resume.</summary>
    public event Action<UpflowAvailabilityChange>? Changed
    {
        add => availability.Changed += value;
        remove => availability.Changed -= value;
    }

    /// <summary>Where calls stand now, as one value.</summary>
    public UpflowPaceState State
    {
        get
        {
            var now = time.GetUtcNow();
            var phase = availability.Pause switch
            {
                UpflowPause.Credentials => UpflowPhase.CredentialsRefused,
                UpflowPause.Outage => UpflowPhase.Outage,
                UpflowPause.AnswerUnreadable => UpflowPhase.AnswerUnreadable,
                _ when budget.PausedUntil > now => UpflowPhase.RateLimited,
                _ => UpflowPhase.Calling,
            };
            return new UpflowPaceState(phase, availability.PausedSince,
                phase == UpflowPhase.RateLimited ? budget.PausedUntil : null, availability.IsHalfOpen, budget.EffectiveRate,
                phase == UpflowPhase.AnswerUnreadable ? availability.Unreadable : null);
        }
    }

    /// <summary>Whether a request may be sent now (see <see cref="UpflowAvailability.Admit"/>).</summary>
    public UpflowAvailability.Admission Admit() => availability.Admit();

    /// <summary>Completes when a half-open trial's verdict is in or the pause ends.</summary>
    public Task Verdict => availability.Verdict;

    public void AbandonTrial() => availability.AbandonTrial();

    /// <summary>Waits for the account's rate budget (live before bulk); throws <see cref="UpflowPausedException"/> when
    /// that would take longer than <paramref name="maxWait"/>; returns when the call is due to leave.</summary>
    public Task<DateTimeOffset> AcquireAsync(TimeSpan maxWait, UpflowLane lane, CancellationToken cancellationToken) =>
        budget.AcquireAsync(maxWait, lane, cancellationToken);

    /// <summary>Waits until the call due at <paramref name="due"/> may leave this process without crowding the calls
    /// before it (see <see cref="SendingWindow"/>); returns the call, with when it left.</summary>
    public Task<SendingWindow.SentCall> SendAsync(DateTimeOffset due, CancellationToken cancellationToken) =>
        budget.SendAsync(due, cancellationToken);

    /// <summary>Upflow answered a call sent at <paramref name="sentAt"/> with anything but 429.</summary>
    public void ReportAdmitted(DateTimeOffset sentAt) => budget.ReportAdmitted(sentAt);

    /// <summary>Upflow answered <paramref name="call"/>, whatever it said.</summary>
    public void ReportReceived(SendingWindow.SentCall call) => budget.ReportReceived(call);

    /// <summary>Upflow answered 429: the account pauses and the rate settles just below what Upflow admitted.
    /// <paramref name="askedByUpflow"/> is false when the pause is our own backoff (no Retry-After).</summary>
    public Task ReportThrottledAsync(TimeSpan pause, bool askedByUpflow, DateTimeOffset sentAt, CancellationToken cancellationToken) =>
        budget.ReportThrottledAsync(pause, sentAt, cancellationToken, askedByUpflow);

    /// <summary>Upflow answered (a 2xx, a 4xx other than 401/403/408/429): it is up.</summary>
    public void ReportAnswered() => availability.ReportAnswered();

    /// <summary>A 2xx answer's portal URL was read: answers are what we expect.</summary>
    public void ReportLinkRead() => availability.ReportLinkRead();

    /// <summary>A 2xx answer held no portal URL we could read: calls pause.</summary>
    public void ReportAnswerUnreadable(UnreadableAnswer answer) => availability.ReportAnswerUnreadable(answer);

    public void ReportTransientFailure(Guid requestId) => availability.ReportTransientFailure(requestId);

    public void ReportCredentialsRejected(int status) => availability.ReportCredentialsRejected(status);

    /// <summary>A request's retries ran out: an outage unless Upflow answered another call since
    /// <paramref name="firstTriedAt"/>. True when it is an outage (calls are paused now).</summary>
    public bool IsOutageFor(DateTimeOffset firstTriedAt)
    {
        if (availability.LastAnsweredAt >= firstTriedAt)
            return false;
        availability.ReportOutage();
        return true;
    }
}
