using MassTransit;
using PortalLinkWorker.Upflow;

namespace PortalLinkWorker.Links;

/// <summary>
/// Stops the <c>generate-portal-link</c> endpoint while Upflow calls are paused, so that messages wait in the queue
/// rather than in memory, and starts it again when the pause ends: at a known time (a 429's reset) or when
/// <see cref="UpflowProbe"/> finds Upflow answering again.
/// </summary>
public sealed partial class ConsumptionSwitch : IReceiveEndpointObserver, IDisposable
{
    private readonly UpflowAvailability _availability;
    private readonly TimeProvider _time;
    private readonly ILogger<ConsumptionSwitch> _logger;
    /// <summary>A pause with no known end while Upflow itself is not paused (the rate budget was too contended to wait
    /// for) has no probe to end it: consumption resumes after this instead.</summary>
    private static readonly TimeSpan UnexplainedPause = TimeSpan.FromSeconds(1);

    private readonly Lock _gate = new();
    private Task _switching = Task.CompletedTask;
    private IReceiveEndpoint? _endpoint;
    private bool _stopped;
    private ITimer? _restart;

    public ConsumptionSwitch(UpflowAvailability availability, TimeProvider time, ILogger<ConsumptionSwitch> logger)
    {
        _availability = availability;
        _time = time;
        _logger = logger;
        _availability.Changed += paused =>
        {
            if (paused)
                Pause(null);
            else
                Resume();
        };
    }

    public bool IsPaused
    {
        get
        {
            lock (_gate)
                return _stopped;
        }
    }

    /// <summary>Stops consuming; resumes at <paramref name="until"/> when given, else when Upflow is available again.</summary>
    public void Pause(DateTimeOffset? until)
    {
        IReceiveEndpoint? endpoint;
        if (until is null && _availability.Pause == UpflowPause.None)
            until = _time.GetUtcNow() + UnexplainedPause;
        lock (_gate)
        {
            if (until is { } at)
            {
                _restart?.Dispose();
                _restart = _time.CreateTimer(_ => Resume(), null, Max(at - _time.GetUtcNow(), TimeSpan.Zero), Timeout.InfiniteTimeSpan);
            }
            if (_stopped || _endpoint is null)
                return;
            _stopped = true;
            endpoint = _endpoint;
        }
        if (until is { } resumeAt)
            LogPausedUntil(_logger, resumeAt);
        else
            LogPaused(_logger);
        // Not awaited: the caller is a consumer of this very endpoint, and Stop waits for its consumers to finish.
        Switch(() => endpoint.Stop());
    }

    /// <summary>Runs stops and starts one after the other, in the order asked: a start must not overtake the stop before
    /// it (MassTransit refuses to start an endpoint still running, and the late stop would then leave it stopped).</summary>
    private void Switch(Func<Task> change)
    {
        lock (_gate)
            _switching = _switching.ContinueWith(async _ =>
            {
                try
                {
                    await change();
                }
                catch (Exception e)
                {
                    LogSwitchFailed(_logger, e);
                }
            }, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default).Unwrap();
    }

    private void Resume()
    {
        IReceiveEndpoint? endpoint;
        lock (_gate)
        {
            if (!_stopped || _endpoint is null || _availability.Pause != UpflowPause.None)
                return;
            _stopped = false;
            endpoint = _endpoint;
        }
        LogResumed(_logger);
        Switch(() =>
        {
            endpoint.Start();
            return Task.CompletedTask;
        });
    }

    public Task Ready(ReceiveEndpointReady ready)
    {
        if (ready.InputAddress.AbsolutePath.EndsWith("/" + GeneratePortalLinkConsumerDefinition.QueueName, StringComparison.Ordinal))
            lock (_gate)
                _endpoint = ready.ReceiveEndpoint;
        return Task.CompletedTask;
    }

    public Task Stopping(ReceiveEndpointStopping stopping) => Task.CompletedTask;

    public Task Completed(ReceiveEndpointCompleted completed) => Task.CompletedTask;

    public Task Faulted(ReceiveEndpointFaulted faulted) => Task.CompletedTask;

    public void Dispose() => _restart?.Dispose();

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    [LoggerMessage(Level = LogLevel.Warning, Message = "Consumption of generate-portal-link paused until {Until:O}; messages wait in the queue")]
    private static partial void LogPausedUntil(ILogger logger, DateTimeOffset until);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Consumption of generate-portal-link paused until Upflow answers a probe; messages wait in the queue")]
    private static partial void LogPaused(ILogger logger);

    [LoggerMessage(Level = LogLevel.Information, Message = "Consumption of generate-portal-link resumed")]
    private static partial void LogResumed(ILogger logger);

    [LoggerMessage(Level = LogLevel.Error, Message = "Could not switch the generate-portal-link endpoint")]
    private static partial void LogSwitchFailed(ILogger logger, Exception error);
}
