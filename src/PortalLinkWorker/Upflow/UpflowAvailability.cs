using Microsoft.Extensions.Options;
using static PortalLinkWorker.Upflow.UpflowAvailabilityLog;

namespace PortalLinkWorker.Upflow;

/// <summary>
/// Whether Upflow can be called at all from this process: open, paused for an outage (a run of transient failures across
/// different messages, or a message whose retries ran out while nothing else got an answer), for refused credentials
/// (401/403) or for an answer it cannot read (a 2xx without a readable portal URL: Upflow's answer is undocumented, and
/// if it differs from what we read every request would fail the same way), and half-open. While paused, messages go back
/// to the queue instead of failing and no call is made. After <see cref="UpflowOptions.OutageProbeInterval"/> (or
/// <see cref="UpflowOptions.CredentialsProbeInterval"/>, <see cref="UpflowOptions.UnreadableAnswerProbeInterval"/>) the
/// pause turns half-open: consumption resumes and the first real queued request is the trial — one call — while the
/// others wait for its verdict. An answer closes an outage or credentials pause, a link read closes any pause; another
/// failure re-opens it for one more interval. No call is ever made for a customer no request named.
/// </summary>
/// <remarks>Not Polly's circuit breaker: an outage is decided per message here (one customer whose calls keep failing
/// must not stop the fleet, and a breaker's failure ratio counts attempts, retries included), the half-open moment must
/// be scheduled because the endpoints are stopped and no call would arrive to trigger it, and refused credentials need
/// the same trial with an interval of their own.</remarks>
public sealed partial class UpflowAvailability : IDisposable
{
    private readonly UpflowOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<UpflowAvailability> _logger;
    private readonly Lock _gate = new();
    private readonly HashSet<Guid> _failingRequests = [];
    private TaskCompletionSource _verdict = NewSignal();
    private ITimer? _halfOpenTimer;
    private bool _halfOpen;
    private bool _trialOut;
    private UnreadableAnswer? _unreadable;
    private long _lastAnsweredTicks;

    public UpflowAvailability(IOptions<UpflowOptions> options, TimeProvider time, ILogger<UpflowAvailability> logger)
    {
        _options = options.Value;
        _time = time;
        _logger = logger;
    }

    /// <summary>What a caller about to send a request may do.</summary>
    public enum Admission
    {
        /// <summary>Not paused: call.</summary>
        Call,

        /// <summary>Half-open: this caller's request is the one trial.</summary>
        Trial,

        /// <summary>A trial is out: wait for <see cref="Verdict"/>, then ask again.</summary>
        Wait,

        /// <summary>Paused: no call; the message goes back to the queue.</summary>
        Paused,
    }

    public UpflowPause Pause { get; private set; } = UpflowPause.None;

    public DateTimeOffset? PausedSince { get; private set; }

    /// <summary>True while the pause lets one trial request through.</summary>
    public bool IsHalfOpen
    {
        get
        {
            lock (_gate)
                return _halfOpen;
        }
    }

    /// <summary>Completes when a trial's verdict is in or the pause ends.</summary>
    public Task Verdict
    {
        get
        {
            lock (_gate)
                return _verdict.Task;
        }
    }

    /// <summary>The answer that paused calls for <see cref="UpflowPause.AnswerUnreadable"/>, described without its values.</summary>
    public UnreadableAnswer? Unreadable
    {
        get
        {
            lock (_gate)
                return Pause == UpflowPause.AnswerUnreadable ? _unreadable : null;
        }
    }

    /// <summary>When Upflow last gave an answer (anything but a transient failure or a 401/403), on the local clock.</summary>
    public DateTimeOffset LastAnsweredAt => new(Interlocked.Read(ref _lastAnsweredTicks), TimeSpan.Zero);

    /// <summary>Raised when calls pause, turn half-open or resume.</summary>
    public event Action<UpflowAvailabilityChange>? Changed;

    /// <summary>Asks whether a request may be sent now. A <see cref="Admission.Trial"/> must be followed by one of the
    /// Report methods (or <see cref="AbandonTrial"/>).</summary>
    public Admission Admit()
    {
        lock (_gate)
        {
            if (Pause == UpflowPause.None)
                return Admission.Call;
            if (!_halfOpen)
                return Admission.Paused;
            if (_trialOut)
                return Admission.Wait;
            _trialOut = true;
            return Admission.Trial;
        }
    }

    /// <summary>A trial ended without a verdict (the caller was cancelled, or Upflow's answer had no link to read while
    /// answers are unreadable): the requests waiting for it ask again, and the next one tries.</summary>
    public void AbandonTrial()
    {
        lock (_gate)
        {
            if (!_trialOut)
                return;
            _trialOut = false;
            ReleaseWaiters();
        }
    }

    /// <summary>Upflow answered (a 2xx, a 4xx other than 401/403/408/429): it is up. That ends an outage or a
    /// credentials pause, not a pause for an unreadable answer: only a link read ends that (<see cref="ReportLinkRead"/>).</summary>
    public void ReportAnswered()
    {
        Interlocked.Exchange(ref _lastAnsweredTicks, _time.GetUtcNow().UtcTicks);
        lock (_gate)
        {
            _failingRequests.Clear();
            if (Pause == UpflowPause.AnswerUnreadable)
                return;
        }
        Resume();
    }

    /// <summary>A 2xx answer's portal URL was read: Upflow is up and answers as we read it. Ends any pause.</summary>
    public void ReportLinkRead()
    {
        Interlocked.Exchange(ref _lastAnsweredTicks, _time.GetUtcNow().UtcTicks);
        Resume();
    }

    /// <summary>A 2xx answer held no portal URL we could read: the same would happen to every request, each after Upflow
    /// issued a link nobody can use, so calls pause. One log line says what came, the first time and whenever that
    /// changes.</summary>
    public void ReportAnswerUnreadable(UnreadableAnswer answer)
    {
        Interlocked.Exchange(ref _lastAnsweredTicks, _time.GetUtcNow().UtcTicks);
        if (Trip(UpflowPause.AnswerUnreadable, answer))
            LogAnswerUnreadable(_logger, answer.Status, answer.Problem, answer.Received, _options.UnreadableAnswerProbeInterval.TotalSeconds);
    }

    /// <summary>A 5xx, 408, timeout or connection error for this request.</summary>
    public void ReportTransientFailure(Guid requestId)
    {
        lock (_gate)
        {
            if (Pause != UpflowPause.None)
            {
                // The trial failed, or a call sent before the pause came back: still down.
                if (_halfOpen)
                    Reopen();
                return;
            }
            _failingRequests.Add(requestId);
            if (_failingRequests.Count < _options.OutageFailureThreshold)
                return;
        }
        Trip(UpflowPause.Outage);
    }

    /// <summary>Upflow answered 401 or 403: the key pair is wrong for every request.</summary>
    public void ReportCredentialsRejected(int status)
    {
        if (Trip(UpflowPause.Credentials))
            LogCredentialsRejected(_logger, status);
    }

    /// <summary>A message's retries ran out on transient failures and no call got an answer since it began: Upflow is
    /// down for everyone, not for this request.</summary>
    public void ReportOutage() => Trip(UpflowPause.Outage);

    private void Resume()
    {
        UpflowPause was;
        lock (_gate)
        {
            was = Pause;
            if (was == UpflowPause.None)
                return;
            Pause = UpflowPause.None;
            PausedSince = null;
            _unreadable = null;
            _halfOpen = false;
            _trialOut = false;
            _failingRequests.Clear();
            _halfOpenTimer?.Dispose();
            _halfOpenTimer = null;
            ReleaseWaiters();
        }
        LogResumed(_logger, was);
        Changed?.Invoke(UpflowAvailabilityChange.Resumed);
    }

    /// <summary>Pauses for <paramref name="reason"/>; true when the caller should log it (outage: a new pause, logged
    /// here; credentials: every refusal that re-pauses; unreadable answer: a new pause or a new shape).</summary>
    private bool Trip(UpflowPause reason, UnreadableAnswer? unreadable = null)
    {
        bool wasPaused;
        var newShape = false;
        lock (_gate)
        {
            if (reason == UpflowPause.AnswerUnreadable)
            {
                newShape = Pause != reason || _unreadable != unreadable;
                _unreadable = unreadable;
            }
            if (Pause == reason && !_halfOpen)
                return newShape;
            // An outage seen while paused for a reason of the configuration's does not hide that reason.
            if (Pause is UpflowPause.Credentials or UpflowPause.AnswerUnreadable && reason == UpflowPause.Outage && !_halfOpen)
                return false;
            wasPaused = Pause != UpflowPause.None;
            Pause = reason;
            PausedSince ??= _time.GetUtcNow();
            Reopen();
        }
        switch (reason)
        {
            case UpflowPause.Outage when !wasPaused:
                LogOutage(_logger, _options.OutageProbeInterval.TotalSeconds);
                return true;
            case UpflowPause.Credentials:
                return true;
            case UpflowPause.AnswerUnreadable:
                return newShape;
            default:
                return false;
        }
    }

    /// <summary>Closes the half-open door again (the pause holds) and schedules the next one. Under <see cref="_gate"/>.</summary>
    private void Reopen()
    {
        var wasHalfOpen = _halfOpen;
        _halfOpen = false;
        _trialOut = false;
        var interval = Pause switch
        {
            UpflowPause.Credentials => _options.CredentialsProbeInterval,
            UpflowPause.AnswerUnreadable => _options.UnreadableAnswerProbeInterval,
            _ => _options.OutageProbeInterval,
        };
        _halfOpenTimer?.Dispose();
        _halfOpenTimer = _time.CreateTimer(_ => OpenHalfway(), null, interval, Timeout.InfiniteTimeSpan);
        ReleaseWaiters();
        if (wasHalfOpen)
            LogStillDown(_logger, Pause, interval.TotalSeconds);
        // Raised outside the caller's lock by the thread pool: the handlers stop endpoints.
        ThreadPool.UnsafeQueueUserWorkItem(_ => Changed?.Invoke(UpflowAvailabilityChange.Paused), null);
    }

    private void OpenHalfway()
    {
        lock (_gate)
        {
            if (Pause == UpflowPause.None || _halfOpen)
                return;
            _halfOpen = true;
            _trialOut = false;
        }
        LogHalfOpen(_logger, Pause);
        Changed?.Invoke(UpflowAvailabilityChange.HalfOpen);
    }

    private void ReleaseWaiters()
    {
        _verdict.TrySetResult();
        _verdict = NewSignal();
    }

    public void Dispose()
    {
        lock (_gate)
            _halfOpenTimer?.Dispose();
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
