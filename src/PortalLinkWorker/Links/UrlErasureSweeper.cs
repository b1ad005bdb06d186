using Microsoft.Extensions.Options;
using PortalLinkWorker.Persistence;

namespace PortalLinkWorker.Links;

/// <summary>At start and every <see cref="DatabaseOptions.UrlErasureInterval"/>: erases the URLs of links that expired
/// more than <see cref="DatabaseOptions.UrlRetention"/> ago. The rows stay for the record (the register shows them as
/// erased). Every replica sweeps; they skip each other's locked rows.</summary>
public sealed partial class UrlErasureSweeper(
    StoredUrls urls,
    IOptions<DatabaseOptions> options,
    TimeProvider time,
    ILogger<UrlErasureSweeper> logger) : BackgroundService
{
    /// <summary>Rows per statement: short transactions that never hold many locks at once.</summary>
    public const int BatchSize = 1000;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.UrlErasureInterval, time);
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
                    // The database may be away; the next sweep tries again.
                    LogSweepFailed(logger, e.GetBaseException().Message);
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>One sweep; returns how many URLs it erased.</summary>
    public async Task<int> SweepAsync(CancellationToken cancellationToken)
    {
        var erased = await urls.EraseExpiredAsync(time.GetUtcNow() - options.Value.UrlRetention, BatchSize, cancellationToken);
        if (erased > 0)
            LogErased(logger, erased, options.Value.UrlRetention.TotalDays);
        return erased;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Erased {Count} portal URLs that expired more than {Days:0.#} days ago")]
    private static partial void LogErased(ILogger logger, int count, double days);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Erasing expired portal URLs failed: {Error}")]
    private static partial void LogSweepFailed(ILogger logger, string error);
}
