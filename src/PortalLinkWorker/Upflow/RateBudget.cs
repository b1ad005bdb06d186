using System.Diagnostics.Metrics;
using Microsoft.Extensions.Options;
using PortalLinkWorker.Telemetry;

namespace PortalLinkWorker.Upflow;

/// <summary>
/// This process's share of the account's rate budget. Tokens are leased from the shared state in small slices (half a
/// burst window's worth), so that a call costs a database round trip only once per slice; each is a sending time
/// reserved up to a burst window ahead (<see cref="RateBudgetState.Lease"/>), so calls leave evenly spaced however long
/// the round trip took. Unused tokens lapse <see cref="LeaseLifetime"/> after the last one's sending time instead of
/// piling up in one replica. Callers are served one at a time, live
/// requests before campaign (bulk) ones and in arrival order within a lane, so a pause or an empty bucket releases them
/// paced at the rate, not all at once, and a live request never queues behind a campaign. Across replicas, a live
/// caller that found the shared bucket empty twice (another replica took the refill) asks for one token and comes back
/// as soon as one is there, while a bulk caller waits for a whole slice: the live caller is first at the next refill.
/// </summary>
public sealed partial class RateBudget
{
    /// <summary>Leased tokens still unused this long after the last one's sending time are dropped: a replica must not
    /// sit on tokens the others could use.</summary>
    public static readonly TimeSpan LeaseLifetime = TimeSpan.FromMilliseconds(500);

    private readonly IRateBudgetStore _store;
    private readonly TimeProvider _time;
    private readonly ILogger<RateBudget> _logger;
    private readonly RateBudgetRules _rules;
    private readonly bool _enabled;
    private readonly LaneSemaphore _turn = new(1, 1);
    private readonly SendingWindow _sending;
    private int _tokens;
    private DateTimeOffset _leaseExpires;
    /// <summary>When the next leased token may be sent (local clock); the others follow every <see cref="_spacing"/>.</summary>
    private DateTimeOffset _sendAt;
    private TimeSpan _spacing;
    private DateTimeOffset _pausedUntil = DateTimeOffset.MinValue;
    private double _effectiveRate;
    /// <summary>How far the store's clock is ahead of this process's, as closely as the leases tell (<see cref="StoreAhead"/>),
    /// and when that was last seen.</summary>
    private TimeSpan _storeAhead = TimeSpan.MinValue;
    private TimeSpan _storeAheadBefore = TimeSpan.MinValue;
    private DateTimeOffset _storeAheadSince = DateTimeOffset.MinValue;
    private readonly Histogram<double> _waits;
    private readonly Lock _admittedGate = new();
    /// <summary>Sending times of calls Upflow admitted since this process last wrote the shared state; they travel with
    /// its next lease or 429, so reporting them costs no round trip of its own.</summary>
    private List<DateTimeOffset> _unreported = [];
    /// <summary>The most a call was seen late since this process last wrote the shared state (beyond the allowance).</summary>
    private TimeSpan _unreportedLateness;

    /// <summary>The most one late call moves the fleet's reservations: a caller that comes back to reservations long past
    /// (nobody wanted a call for a while) is late to a schedule nobody was using.</summary>
    private static readonly TimeSpan MaxLateness = TimeSpan.FromMilliseconds(100);

    /// <summary>How long before a pause ends the admissions answered during it are reported: calls in flight when the 429
    /// came are answered by then (a round trip), and the report is in the shared state before the first lease after it.</summary>
    private static readonly TimeSpan ReportBeforeResume = TimeSpan.FromMilliseconds(200);

    /// <summary>Unreported admissions kept at most: older ones are beyond the log's minute anyway.</summary>
    private const int MaxUnreported = 10_000;

    public RateBudget(IRateBudgetStore store, IOptions<UpflowOptions> options, TimeProvider time, ILogger<RateBudget> logger,
        IMeterFactory meters, SendingWindow? sending = null)
    {
        _store = store;
        _time = time;
        _logger = logger;
        _enabled = options.Value.MaxRequestsPerSecond > 0;
        _rules = RateBudgetRules.From(options.Value);
        _effectiveRate = options.Value.MaxRequestsPerSecond;
        _sending = sending ?? new SendingWindow(time);
        var meter = meters.Create(WorkerMeter.Name);
        _waits = meter.CreateHistogram<double>("portallink.upflow.budget_wait", "s",
            "Time an Upflow call waited for the rate budget (and for 429 pauses) before it was sent");
        meter.CreateObservableGauge("portallink.upflow.effective_rate", () => _effectiveRate, "{request}/s",
            "Upflow calls per second the shared budget allows now (lowered after a 429, raised step by step after it)");
    }

    /// <summary>The rate in force, as last seen by this process.</summary>
    public double EffectiveRate => _effectiveRate;

    /// <summary>Until when every Upflow call of the account waits (a 429's reset), as last seen by this process.</summary>
    public DateTimeOffset PausedUntil => _pausedUntil;

    /// <summary>Waits for one token. Throws <see cref="UpflowPausedException"/> when that would take longer than
    /// <paramref name="maxWait"/>.</summary>
    public async Task AcquireAsync(TimeSpan maxWait, CancellationToken cancellationToken) =>
        await AcquireAsync(maxWait, UpflowLane.Live, cancellationToken);

    /// <summary>Waits for one token on <paramref name="lane"/>: live callers are served before bulk ones. Throws
    /// <see cref="UpflowPausedException"/> when that would take longer than <paramref name="maxWait"/>. Returns the
    /// token's reserved sending time (local clock): when the call was due to leave (<see cref="SendAsync"/>).</summary>
    public async Task<DateTimeOffset> AcquireAsync(TimeSpan maxWait, UpflowLane lane, CancellationToken cancellationToken)
    {
        var started = _time.GetTimestamp();
        try
        {
            return await AcquireCoreAsync(maxWait, lane, cancellationToken);
        }
        finally
        {
            _waits.Record(_time.GetElapsedTime(started).TotalSeconds);
        }
    }

    /// <summary>Returns the taken token's reserved sending time (local clock), or now when the budget is off.</summary>
    private async Task<DateTimeOffset> AcquireCoreAsync(TimeSpan maxWait, UpflowLane lane, CancellationToken cancellationToken)
    {
        var deadline = _time.GetUtcNow() + maxWait;
        if (!await _turn.WaitAsync(lane, maxWait, cancellationToken))
            throw new UpflowPausedException("the rate budget is spent", _pausedUntil > _time.GetUtcNow() ? _pausedUntil : null);
        try
        {
            var emptyAnswers = 0;
            while (true)
            {
                var now = _time.GetUtcNow();
                if (_pausedUntil > now)
                {
                    // The calls this process had in flight are answered during the pause; they are reported just before
                    // it ends, when the rate settles from the fleet's log (RateBudgetState.Settled), not with this
                    // process's next lease, which may come after another replica's settle. Missing calls read low: three
                    // replicas once read a sliding window of 20 as 19, and the run went at 0.91 of the limit.
                    var reportAt = _pausedUntil - ReportBeforeResume;
                    if (_enabled && now < reportAt && _pausedUntil <= deadline)
                    {
                        await WaitUntilAsync(reportAt, deadline, "Upflow answered 429", cancellationToken);
                        await ReportAdmittedAsync(cancellationToken);
                    }
                    await WaitUntilAsync(_pausedUntil, deadline, "Upflow answered 429", cancellationToken);
                    continue;
                }
                if (!_enabled)
                    return now;
                if (_tokens > 0 && now < _leaseExpires)
                {
                    // A leased token is a reserved sending time: wait for it, then look at the pause again (a 429 may
                    // have come meanwhile).
                    if (_sendAt > now)
                    {
                        await WaitUntilAsync(_sendAt, deadline, "the rate budget is spent", cancellationToken);
                        continue;
                    }
                    _tokens--;
                    var reserved = _sendAt;
                    // A caller that comes back later than the next reservation (nobody wanted a call for a while) sends
                    // now and the rest follow evenly from now: reservations already past are not sent back to back.
                    _sendAt = _sendAt + _spacing < now ? now + _spacing : _sendAt + _spacing;
                    return reserved;
                }
                var next = await LeaseAsync(lane == UpflowLane.Live && emptyAnswers > 0, cancellationToken);
                if (next is { } wait)
                {
                    emptyAnswers++;
                    // A pause this lease learned of is waited for above, where the calls answered in it are reported.
                    if (_pausedUntil > _time.GetUtcNow())
                        continue;
                    await WaitUntilAsync(_time.GetUtcNow() + wait, deadline, "the rate budget is spent", cancellationToken);
                }
            }
        }
        finally
        {
            _turn.Release(lane);
        }
    }

    /// <summary>The call whose token was reserved for <paramref name="due"/> leaves now, or as soon as it no longer crowds this
    /// process's calls before it (<see cref="SendingWindow"/>); returns the call, with when it left (local clock).</summary>
    public async Task<SendingWindow.SentCall> SendAsync(DateTimeOffset due, CancellationToken cancellationToken)
    {
        var call = await _sending.SendAsync(_enabled ? _effectiveRate : 0, cancellationToken);
        call.Due = due;
        return call;
    }

    /// <summary>Upflow answered a call this process sent (any status): when it was answered says when Upflow saw it, if
    /// it went out on a new connection. A call Upflow saw later than it was due by more than the transit allowance moves
    /// the fleet's later reservations by the excess (<see cref="RateBudgetState.Delayed"/>): the sending window keeps this
    /// process's calls apart from it, but another replica's call due a second after it would otherwise be seen less than
    /// a second after it. Measured against a strict one-second window with two replicas: the first calls of a run waited
    /// 60–100 ms for their call slots (a cold database connection), the twentieth after them left on time, and drew a
    /// 429, which cost the fleet a second's pause and 5 % of its rate.</summary>
    public void ReportReceived(SendingWindow.SentCall call)
    {
        var seenBy = _sending.Answered(call);
        if (!_enabled || call.Due is not { } due)
            return;
        // Lateness is counted from the reservation, not from when the token was taken: a caller that came to its token
        // 16 ms after the reservation was on time by the token and still made 21 calls in a strict second with the other
        // replica's. Beyond the transit allowance only: with half of it, the debt of many 1–5 ms late calls cost 0.5 %.
        var excess = seenBy - due - _rules.TransitJitter;
        excess = excess < MaxLateness ? excess : MaxLateness;
        if (excess <= TimeSpan.Zero)
            return;
        lock (_admittedGate)
            if (excess > _unreportedLateness)
                _unreportedLateness = excess;
    }

    /// <summary>Upflow answered a call sent at <paramref name="sentAt"/> (local clock) with anything but 429: it counted
    /// against the limit and was let through.</summary>
    public void ReportAdmitted(DateTimeOffset sentAt)
    {
        if (!_enabled)
            return;
        lock (_admittedGate)
            if (_unreported.Count < MaxUnreported)
                _unreported.Add(sentAt);
    }

    /// <summary>Upflow answered 429 to a call sent at <paramref name="sentAt"/> (local clock): pause every call of the
    /// account (all replicas) for <paramref name="retryAfter"/> and settle the rate just below what Upflow admitted.</summary>
    public async Task ReportThrottledAsync(TimeSpan retryAfter, DateTimeOffset sentAt, CancellationToken cancellationToken,
        bool askedByUpflow = true)
    {
        var localNow = _time.GetUtcNow();
        if (localNow + retryAfter > _pausedUntil)
            _pausedUntil = localNow + retryAfter;
        _tokens = 0;
        if (!_enabled)
            return;
        var admitted = TakeUnreported(localNow);
        var (result, now) = await _store.UpdateAsync((state, at) =>
        {
            var current = WithAdmitted(state, admitted, at);
            var (next, newEpisode) = current.Throttled(at, at - (localNow - sentAt), retryAfter, _rules, askedByUpflow);
            return (next, (newEpisode, next.Rate));
        }, cancellationToken);
        if (result.newEpisode)
            LogThrottled(_logger, retryAfter.TotalSeconds);
    }

    /// <summary>Writes the unreported admissions to the shared state, when there are any.</summary>
    private async Task ReportAdmittedAsync(CancellationToken cancellationToken)
    {
        var admitted = TakeUnreported(_time.GetUtcNow());
        if (admitted.Length > 0)
            await _store.UpdateAsync((state, at) => (WithAdmitted(state, admitted, at), 0), cancellationToken);
    }

    /// <summary>A lease's answer can take anything from a millisecond to tens of them (a cold connection, a busy CPU, another
    /// replica holding the row): the largest "store clock less local clock at the answer" seen lately is the one closest
    /// to the truth. Readings are kept in windows this long, the largest of this one and the one before counting, so that
    /// a clock that steps is followed within two of them.</summary>
    private static readonly TimeSpan StoreAheadLifetime = TimeSpan.FromSeconds(10);

    /// <summary>Takes a slice of tokens from the shared state; returns how long to wait when none was granted.</summary>
    private async Task<TimeSpan?> LeaseAsync(bool urgent, CancellationToken cancellationToken)
    {
        // The first lease of a process runs on a cold connection and cold code: the clocks are compared once before it, so
        // that its reservations are not read as late as its answer was.
        if (_storeAheadSince == DateTimeOffset.MinValue)
        {
            var (_, storeNow) = await _store.UpdateAsync((state, at) => (state ?? RateBudgetState.Initial(at, _rules), 0),
                cancellationToken);
            StoreAhead(storeNow, _time.GetUtcNow());
        }
        var admitted = TakeUnreported(_time.GetUtcNow());
        var late = TakeLateness();
        var ((granted, nextAt, rate, pace, pausedUntil), now) = await _store.UpdateAsync((state, at) =>
        {
            var current = WithAdmitted(state, admitted, at).Delayed(late, at, _rules);
            // Half a bucketful: a replica that comes back a little late for its slice finds the tokens still there
            // instead of lost to the full bucket.
            var slice = (int)Math.Max(1, Math.Floor(current.CurrentRate(at, _rules) * _rules.BurstWindow.TotalSeconds / 2));
            // A live caller that already came back once for nothing (another replica took the refill) returns for the very
            // next token, ahead of any replica waiting for a whole slice for its campaign. Only then: a live-only load
            // keeps leasing whole slices, one round trip per slice.
            if (urgent && current.Lease(at, slice, _rules).Granted == 0)
                slice = 1;
            var (next, tokens, nextTokenAt) = current.Lease(at, slice, _rules);
            return (next, (tokens, nextTokenAt, next.CurrentRate(at, _rules), next.PaceRate(at, _rules), next.PausedUntil));
        }, cancellationToken);

        // The store's clock decides. Its times cross over to the local clock by the closest reading of how far apart the
        // two are, not by this answer's own delay: replicas whose answers came back 40 ms apart sent the reservations
        // the row had spaced 50 ms apart 10 ms apart, and a strict one-second window answered 429.
        var localNow = _time.GetUtcNow();
        var storeAhead = StoreAhead(now, localNow);
        if (pausedUntil > now)
            _pausedUntil = pausedUntil - storeAhead;
        if (rate < _effectiveRate - 0.01)
            LogRateSettled(_logger, rate);
        else if (Math.Abs(rate - _effectiveRate) >= 0.01 && rate > _effectiveRate)
            LogRateRaised(_logger, rate);
        _effectiveRate = rate;
        _tokens = granted;
        var dueIn = (nextAt ?? now) - now;
        // Nothing granted: no token, so no lease to expire.
        if (granted == 0)
            return dueIn;
        // Never closer to this process's previous call than the spacing: its last reservations may have gone out late.
        // The reservations' spacing (RateBudgetState.PaceRate), so that calls on time never wait in the sending window.
        _spacing = TimeSpan.FromSeconds(1 / Math.Max(pace, _rules.MinRate));
        var reserved = (nextAt ?? now) - storeAhead;
        _sendAt = reserved > _sendAt ? reserved : _sendAt;
        // Counted from the last reservation, not from the lease: with a burst window longer than the lifetime, a caller
        // waiting for a reserved time would otherwise find the lease gone, lease again and push its own times out
        // (at 10/s a 2-s window sent 4 calls in 10 s).
        _leaseExpires = _sendAt + (_spacing * (granted - 1)) + LeaseLifetime;
        return null;
    }

    /// <summary>How far the store's clock is ahead of the local one: at least <paramref name="storeNow"/> less
    /// <paramref name="localNow"/> (the store read its clock before its answer came back), and the largest such reading
    /// in this window of <see cref="StoreAheadLifetime"/> and the one before. Called one lease at a time.</summary>
    /// <remarks>A single window started afresh from whatever reading came first after it lapsed: a slow answer 10 s into
    /// a run moved one replica's reservations tens of milliseconds later for a lease or two, toward the other's, and a
    /// sliding window of 20 answered 429 10 s into two replicas' runs at the limit (0.95 and 0.948 in two matrix runs).</remarks>
    private TimeSpan StoreAhead(DateTimeOffset storeNow, DateTimeOffset localNow)
    {
        var seen = storeNow - localNow;
        if (localNow - _storeAheadSince > StoreAheadLifetime)
        {
            _storeAheadBefore = _storeAhead;
            _storeAhead = seen;
            _storeAheadSince = localNow;
        }
        else if (seen > _storeAhead)
            _storeAhead = seen;
        return _storeAhead > _storeAheadBefore ? _storeAhead : _storeAheadBefore;
    }

    /// <summary>The unreported admissions as ages on the local clock at <paramref name="localNow"/>.</summary>
    private TimeSpan[] TakeUnreported(DateTimeOffset localNow)
    {
        List<DateTimeOffset> taken;
        lock (_admittedGate)
        {
            if (_unreported.Count == 0)
                return [];
            taken = _unreported;
            _unreported = [];
        }
        return [.. taken.Select(at => localNow - at)];
    }

    private TimeSpan TakeLateness()
    {
        lock (_admittedGate)
        {
            var late = _unreportedLateness;
            _unreportedLateness = TimeSpan.Zero;
            return late;
        }
    }

    /// <summary>The shared state (a new one when the row has none yet) with the calls of <paramref name="admitted"/> (ages on
    /// the local clock) added at the store's time <paramref name="at"/>.</summary>
    private RateBudgetState WithAdmitted(RateBudgetState? state, TimeSpan[] admitted, DateTimeOffset at) =>
        (state ?? RateBudgetState.Initial(at, _rules)).Admit(ToStoreClock(admitted, at), at);

    /// <summary>Only durations cross from the local clock to the store's.</summary>
    private static DateTimeOffset[] ToStoreClock(TimeSpan[] ages, DateTimeOffset storeNow) =>
        ages.Length == 0 ? [] : [.. ages.Select(age => storeNow - age)];

    private async Task WaitUntilAsync(DateTimeOffset until, DateTimeOffset deadline, string reason, CancellationToken cancellationToken)
    {
        if (until > deadline)
            throw new UpflowPausedException(reason, until);
        // Always yield, and never wake before until: a caller that loops here must never spin on a thread the clock needs.
        // Task.Delay drops the part of a millisecond (under 1 ms it is a task already complete, and 1.5 ms wakes 0.5 ms
        // early), and a reserved sending time rarely falls on a whole millisecond: rounded down, the loop spins until the
        // clock passes it, and on a fake clock whose Advance runs this loop inline the clock never does.
        var milliseconds = Math.Max(1, Math.Ceiling((until - _time.GetUtcNow()).TotalMilliseconds));
        await Task.Delay(TimeSpan.FromMilliseconds(milliseconds), _time, cancellationToken);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Upflow answered 429: every worker pauses Upflow calls for {Seconds:0.#} s")]
    private static partial void LogThrottled(ILogger logger, double seconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "Upflow rate settled at {Rate:0.##}/s, just below what Upflow admitted before its 429")]
    private static partial void LogRateSettled(ILogger logger, double rate);

    [LoggerMessage(Level = LogLevel.Information, Message = "Effective Upflow rate raised to {Rate:0.##}/s")]
    private static partial void LogRateRaised(ILogger logger, double rate);
}
