using System.Diagnostics.Metrics;
using Npgsql;
using PortalLinkWorker.Persistence;
using PortalLinkWorker.Telemetry;

namespace PortalLinkWorker.Campaigns;

/// <summary>
/// Reads the campaigns that are running or finished in the last day every <see cref="PollInterval"/>, for the status
/// page (Operations' <c>CampaignMonitorStatus</c>) and the campaign gauges. The gauges sum over running campaigns: a label per
/// campaign would grow the metric series without bound.
/// </summary>
public sealed partial class CampaignMonitor : BackgroundService
{
    /// <summary>A person watching a campaign, and a scrape every few seconds, need nothing fresher.</summary>
    public static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(5);

    /// <summary>The status page shows this many campaigns at most, newest first.</summary>
    private const int MaxShown = 20;

    private readonly IServiceScopeFactory _scopes;
    private readonly TimeProvider _time;
    private readonly ILogger<CampaignMonitor> _logger;
    private volatile IReadOnlyList<CampaignSummary> _latest = [];

    public CampaignMonitor(IServiceScopeFactory scopes, TimeProvider time, IMeterFactory meters, ILogger<CampaignMonitor> logger)
    {
        _scopes = scopes;
        _time = time;
        _logger = logger;
        var meter = meters.Create(WorkerMeter.Name);
        meter.CreateObservableGauge("portallink.campaigns.running", () => Running().Count(), "{campaign}",
            "Campaigns started and not yet completed");
        meter.CreateObservableGauge("portallink.campaign.items", () => new[]
        {
            new Measurement<long>(Running().Sum(c => c.Total - c.Generated - c.Failed), new KeyValuePair<string, object?>("state", "pending")),
            new Measurement<long>(Running().Sum(c => c.Generated), new KeyValuePair<string, object?>("state", "generated")),
            new Measurement<long>(Running().Sum(c => c.Failed), new KeyValuePair<string, object?>("state", "failed")),
        }, "{item}", "Items of the running campaigns, by state");
    }

    /// <summary>The last reading, newest campaign first.</summary>
    public IReadOnlyList<CampaignSummary> Latest => _latest;

    private IEnumerable<CampaignSummary> Running() => _latest.Where(c => !c.IsCompleted);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                _latest = await ReadAsync(stoppingToken);
            }
            catch (Exception e) when (e is NpgsqlException or InvalidOperationException or TimeoutException)
            {
                // The database is down or not migrated yet: the health checks say so; the page keeps the last reading.
                LogReadFailed(_logger, e.GetBaseException().Message);
            }
            await Task.Delay(PollInterval, _time, stoppingToken).ContinueWith(_ => { }, TaskScheduler.Default);
        }
    }

    private async Task<IReadOnlyList<CampaignSummary>> ReadAsync(CancellationToken cancellationToken)
    {
        await using var scope = _scopes.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<CampaignStore>().RecentAsync(MaxShown, cancellationToken);
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Could not read campaign progress: {Error}")]
    private static partial void LogReadFailed(ILogger logger, string error);
}
