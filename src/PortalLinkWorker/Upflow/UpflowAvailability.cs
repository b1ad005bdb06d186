using Microsoft.Extensions.Options;

namespace PortalLinkWorker.Upflow;

/// <summary>
/// Whether Upflow can be called at all from this process: open, paused for an outage (a run of transient failures across
/// different messages, or a message whose retries ran out while nothing else got an answer) or for refused credentials
/// (401/403), and half-open. While paused, messages go back to the queue instead of failing and no call is made. After
/// <see cref="UpflowOptions.OutageProbeInterval"/> (or <see cref="UpflowOptions.CredentialsProbeInterval"/>) the pause
/// turns half-open: consumption resumes and the first real queued request is the trial — one call — while the others
/// wait for its verdict. An answer closes the pause; another failure re-opens it for one more interval. No call is ever
/// made for a customer no request named.
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

    /// <summary>A trial ended without an answer of any kind (the caller was cancelled): let the next request try.</summary>
    public void AbandonTrial()
    {
        lock (_gate)
            _trialOut = false;
    }

    /// <summary>Upflow answered (a 2xx, a 4xx other than 401/403/408/429): it is up.</summary>
    public void ReportAnswered()
    {
        Interlocked.Exchange(ref _lastAnsweredTicks, _time.GetUtcNow().UtcTicks);
        lock (_gate)
            _failingRequests.Clear();
        Resume();
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

    private bool Trip(UpflowPause reason)
    {
        lock (_gate)
        {
            if (Pause == reason && !_halfOpen)
                return false;
            if (Pause == UpflowPause.Credentials && reason == UpflowPause.Outage && !_halfOpen)
                return false;
            var wasPaused = Pause != UpflowPause.None;
            Pause = reason;
            PausedSince ??= _time.GetUtcNow();
            Reopen();
            if (wasPaused && reason != UpflowPause.Credentials)
                return false;
        }
        if (reason == UpflowPause.Outage)
            LogOutage(_logger, _options.OutageProbeInterval.TotalSeconds);
        return true;
    }

    /// <summary>Closes the half-open door again (the pause holds) and schedules the next one. Under <see cref="_gate"/>.</summary>
    private void Reopen()
    {
        var wasHalfOpen = _halfOpen;
        _halfOpen = false;
        _trialOut = false;
        var interval = Pause == UpflowPause.Credentials ? _options.CredentialsProbeInterval : _options.OutageProbeInterval;
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

    [LoggerMessage(Level = LogLevel.Error,
        Message = "Upflow refused the credentials ({Status}): consumption is paused and no link fails for it. Set Upflow:ApiKey and Upflow:ApiSecret (Upflow__ApiKey, Upflow__ApiSecret) to a valid key pair; the worker tries them again with one queued request at a time")]
    private static partial void LogCredentialsRejected(ILogger logger, int status);

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "Upflow looks down for everyone: consumption is paused, messages stay in the queue, and one queued request tries Upflow every {Seconds:0.#} s")]
    private static partial void LogOutage(ILogger logger, double seconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "Upflow calls paused ({Pause}): one queued request may try Upflow now")]
    private static partial void LogHalfOpen(ILogger logger, UpflowPause pause);

    [LoggerMessage(Level = LogLevel.Information, Message = "Upflow still unavailable ({Pause}): next try in {Seconds:0.#} s")]
    private static partial void LogStillDown(ILogger logger, UpflowPause pause, double seconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "Upflow answers again after {Pause}: consumption resumes")]
    private static partial void LogResumed(ILogger logger, UpflowPause pause);
}
