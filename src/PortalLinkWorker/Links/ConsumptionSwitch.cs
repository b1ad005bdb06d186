using MassTransit;
using PortalLinkWorker.Upflow;

namespace PortalLinkWorker.Links;

/// <summary>
/// Stops the <c>generate-portal-link</c> and <c>generate-portal-link-bulk</c> endpoints while Upflow calls are paused
/// (a pause is the account's, so it applies to both lanes), so that messages wait in the queue
/// rather than in memory, and starts it again when the pause ends: at a known time (a 429's reset), or when
/// <see cref="UpflowPace"/> turns half-open so that one queued request can try Upflow.
/// </summary>
public sealed partial class ConsumptionSwitch : IReceiveEndpointObserver, IDisposable
{
    private readonly UpflowPace _pace;
    private readonly TimeProvider _time;
    private readonly ILogger<ConsumptionSwitch> _logger;
    private readonly Lock _gate = new();
    /// <summary>A pause with no known end while Upflow itself is not paused (the rate budget was too contended to wait
    /// for, or a probe already found Upflow back) has no probe to end it: consumption resumes after this instead.</summary>
    private static readonly TimeSpan UnexplainedPause = TimeSpan.FromSeconds(1);

    private readonly List<IReceiveEndpoint> _endpoints = [];
    private bool _stopped;
    private ITimer? _restart;

    /// <summary>Stops and starts run one after the other: a start issued while a stop is still waiting for the
    /// consumers in flight would fail ("already started") and the stop would then leave the endpoint stopped for good.</summary>
    private Task _switching = Task.CompletedTask;

    public ConsumptionSwitch(UpflowPace pace, TimeProvider time, ILogger<ConsumptionSwitch> logger)
    {
        _pace = pace;
        _time = time;
        _logger = logger;
        _pace.Changed += change =>
        {
            if (change == UpflowAvailabilityChange.Paused)
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
        IReceiveEndpoint[] endpoints;
        // Half-open too: a message handed back late (after the next half-open began) would otherwise stop the endpoints
        // with no trial out to end the pause, and nothing would start them again.
        if (until is null && _pace.State is { Phase: UpflowPhase.Calling or UpflowPhase.RateLimited } or { HalfOpen: true })
            until = _time.GetUtcNow() + UnexplainedPause;
        lock (_gate)
        {
            if (until is { } at)
            {
                _restart?.Dispose();
                _restart = _time.CreateTimer(_ => Resume(), null, Max(at - _time.GetUtcNow(), TimeSpan.Zero), Timeout.InfiniteTimeSpan);
            }
            if (_stopped || _endpoints.Count == 0)
                return;
            _stopped = true;
            endpoints = [.. _endpoints];
        }
        if (until is { } resumeAt)
            LogPausedUntil(_logger, resumeAt);
        else
            LogPaused(_logger);
        // Not awaited: the caller is a consumer of this very endpoint, and Stop waits for its consumers to finish.
        Switch(endpoints, start: false);
    }

    private void Resume()
    {
        IReceiveEndpoint[] endpoints;
        lock (_gate)
        {
            // Half-open: consumption resumes so that one queued request can try Upflow (the gate lets only that one call).
            var upflow = _pace.State;
            if (!_stopped || _endpoints.Count == 0 || (upflow.Phase is not (UpflowPhase.Calling or UpflowPhase.RateLimited) && !upflow.HalfOpen))
                return;
            _stopped = false;
            endpoints = [.. _endpoints];
        }
        LogResumed(_logger);
        Switch(endpoints, start: true);
    }

    private void Switch(IReceiveEndpoint[] endpoints, bool start)
    {
        lock (_gate)
            _switching = _switching.ContinueWith(_ => ApplyAsync(endpoints, start), CancellationToken.None,
                TaskContinuationOptions.None, TaskScheduler.Default).Unwrap();
    }

    private async Task ApplyAsync(IReceiveEndpoint[] endpoints, bool start)
    {
        foreach (var endpoint in endpoints)
        {
            try
            {
                if (start)
                    endpoint.Start();
                else
                    await endpoint.Stop();
            }
            catch (Exception e)
            {
                LogSwitchFailed(_logger, e);
            }
        }
    }

    public Task Ready(ReceiveEndpointReady ready)
    {
        var path = ready.InputAddress.AbsolutePath;
        if (path.EndsWith("/" + GeneratePortalLinkConsumerDefinition.QueueName, StringComparison.Ordinal) ||
            path.EndsWith("/" + GeneratePortalLinkBulkConsumerDefinition.QueueName, StringComparison.Ordinal))
            lock (_gate)
                if (!_endpoints.Contains(ready.ReceiveEndpoint))
                    _endpoints.Add(ready.ReceiveEndpoint);
        return Task.CompletedTask;
    }

    public Task Stopping(ReceiveEndpointStopping stopping) => Task.CompletedTask;

    public Task Completed(ReceiveEndpointCompleted completed) => Task.CompletedTask;

    public Task Faulted(ReceiveEndpointFaulted faulted) => Task.CompletedTask;

    public void Dispose() => _restart?.Dispose();

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    [LoggerMessage(Level = LogLevel.Warning, Message = "Consumption of generate-portal-link (and -bulk) paused until {Until:O}; messages wait in the queue")]
    private static partial void LogPausedUntil(ILogger logger, DateTimeOffset until);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Consumption of generate-portal-link (and -bulk) paused until one queued request finds Upflow answering again; messages wait in the queue")]
    private static partial void LogPaused(ILogger logger);

    [LoggerMessage(Level = LogLevel.Information, Message = "Consumption of generate-portal-link (and -bulk) resumed")]
    private static partial void LogResumed(ILogger logger);

    [LoggerMessage(Level = LogLevel.Error, Message = "Could not switch the generate-portal-link endpoint")]
    private static partial void LogSwitchFailed(ILogger logger, Exception error);
}
