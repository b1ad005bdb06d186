using Microsoft.Extensions.Options;

namespace PortalLinkWorker.Upflow;

/// <summary>Whether Upflow can be called at all from this process. Trips to <see cref="UpflowPause.Outage"/> after a run
/// of transient failures across different messages, or to <see cref="UpflowPause.Credentials"/> on a 401/403; while
/// tripped, messages go back to the queue instead of failing, and <see cref="UpflowProbe"/> asks Upflow until it answers.</summary>
public sealed partial class UpflowAvailability(IOptions<UpflowOptions> options, TimeProvider time, ILogger<UpflowAvailability> logger)
{
    private readonly Lock _gate = new();
    private readonly HashSet<Guid> _failingRequests = [];
    private TaskCompletionSource _resumed = NewSignal();

    public UpflowPause Pause { get; private set; } = UpflowPause.None;

    public DateTimeOffset? PausedSince { get; private set; }

    /// <summary>Completes when the current pause ends.</summary>
    public Task Resumed
    {
        get
        {
            lock (_gate)
                return _resumed.Task;
        }
    }

    /// <summary>Raised when calls pause (<c>true</c>) or resume (<c>false</c>).</summary>
    public event Action<bool>? Changed;

    /// <summary>Upflow answered (a 2xx or a 4xx other than 401/403/408/429): it is up.</summary>
    public void ReportAnswered()
    {
        lock (_gate)
            _failingRequests.Clear();
    }

    /// <summary>A 5xx, 408, timeout or connection error for this request.</summary>
    public void ReportTransientFailure(Guid requestId)
    {
        lock (_gate)
        {
            _failingRequests.Add(requestId);
            if (_failingRequests.Count < options.Value.OutageFailureThreshold)
                return;
        }
        Trip(UpflowPause.Outage);
    }

    public void ReportCredentialsRejected(int status)
    {
        if (Trip(UpflowPause.Credentials))
            LogCredentialsRejected(logger, status);
    }

    /// <summary>A message's retries ran out and a probe failed too: Upflow is down for everyone.</summary>
    public void ReportOutage() => Trip(UpflowPause.Outage);

    public void Resume()
    {
        UpflowPause was;
        lock (_gate)
        {
            was = Pause;
            if (was == UpflowPause.None)
                return;
            Pause = UpflowPause.None;
            PausedSince = null;
            _failingRequests.Clear();
            _resumed.TrySetResult();
            _resumed = NewSignal();
        }
        LogResumed(logger, was);
        Changed?.Invoke(false);
    }

    private bool Trip(UpflowPause reason)
    {
        lock (_gate)
        {
            if (Pause == reason || (Pause == UpflowPause.Credentials && reason == UpflowPause.Outage))
                return false;
            Pause = reason;
            PausedSince = time.GetUtcNow();
        }
        if (reason == UpflowPause.Outage)
            LogOutage(logger, options.Value.OutageProbeInterval.TotalSeconds);
        Changed?.Invoke(true);
        return true;
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    [LoggerMessage(Level = LogLevel.Error,
        Message = "Upflow refused the credentials ({Status}): consumption is paused and no link fails for it. Set Upflow:ApiKey and Upflow:ApiSecret (Upflow__ApiKey, Upflow__ApiSecret) to a valid key pair; the worker tries them again by itself")]
    private static partial void LogCredentialsRejected(ILogger logger, int status);

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "Upflow looks down for everyone: consumption is paused, messages stay in the queue, and Upflow is probed every {Seconds:0.#} s")]
    private static partial void LogOutage(ILogger logger, double seconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "Upflow answers again after {Pause}: consumption resumes")]
    private static partial void LogResumed(ILogger logger, UpflowPause pause);
}
