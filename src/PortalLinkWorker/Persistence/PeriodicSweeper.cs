namespace PortalLinkWorker.Persistence;

/// <summary>A sweep of the database at start and then every <see cref="Interval"/>, in every replica: the completion
/// sweep of campaigns and the erasure of expired URLs. A failed sweep (the database or the broker away) is logged and the
/// next one tries again; the sweeps themselves lock rows <c>SKIP LOCKED</c>, so replicas share the work.</summary>
public abstract partial class PeriodicSweeper(TimeProvider time, ILogger logger) : BackgroundService
{
    /// <summary>The clock the sweeps run on.</summary>
    protected TimeProvider Time { get; } = time;

    /// <summary>Time between two sweeps.</summary>
    protected abstract TimeSpan Interval { get; }

    /// <summary>What is swept, for the log line of a failed sweep.</summary>
    protected abstract string What { get; }

    /// <summary>One sweep; returns how many rows it handled.</summary>
    public abstract Task<int> SweepAsync(CancellationToken cancellationToken);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval, Time);
        try
        {
            do
            {
                try
                {
                    await SweepAsync(stoppingToken);
                }
                catch (Exception e) when (!stoppingToken.IsCancellationRequested)
                {
                    LogSweepFailed(logger, What, e.GetBaseException().Message);
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{What} failed: {Error}")]
    private static partial void LogSweepFailed(ILogger logger, string what, string error);
}
