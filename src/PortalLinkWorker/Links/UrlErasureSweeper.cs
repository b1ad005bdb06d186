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
    ILogger<UrlErasureSweeper> logger) : PeriodicSweeper(time, logger)
{
    /// <summary>Rows per statement: short transactions that never hold many locks at once.</summary>
    public const int BatchSize = 1000;

    protected override TimeSpan Interval => options.Value.UrlErasureInterval;

    protected override string What => "Erasing expired portal URLs";

    /// <summary>One sweep; returns how many URLs it erased.</summary>
    public override async Task<int> SweepAsync(CancellationToken cancellationToken)
    {
        var erased = await urls.EraseExpiredAsync(Time.GetUtcNow() - options.Value.UrlRetention, BatchSize, cancellationToken);
        if (erased > 0)
            LogErased(logger, erased, options.Value.UrlRetention.TotalDays);
        return erased;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Erased {Count} portal URLs that expired more than {Days:0.#} days ago")]
    private static partial void LogErased(ILogger logger, int count, double days);
}
