using System.Reflection;
using Microsoft.Extensions.Options;
using PortalLinkWorker.Links;
using PortalLinkWorker.Upflow;

namespace PortalLinkWorker.Operations;

/// <summary>Gathers the <see cref="StatusSnapshot"/>.</summary>
public sealed class StatusService(
    LinkOutcomes outcomes,
    QueueDepths queues,
    CampaignStatusSource campaigns,
    UpflowAvailability availability,
    RateBudget budget,
    ConsumptionSwitch consumption,
    IOptions<UpflowOptions> upflowOptions,
    TimeProvider time)
{
    private static readonly string Version =
        typeof(StatusService).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "?";

    private static readonly DateTimeOffset StartedAt = System.Diagnostics.Process.GetCurrentProcess().StartTime.ToUniversalTime();

    public async Task<StatusSnapshot> ReadAsync(CancellationToken cancellationToken)
    {
        var depths = queues.ReadAsync(cancellationToken);
        var rows = campaigns.ReadAsync(cancellationToken);
        var now = time.GetUtcNow();
        var totals = outcomes.Count();
        return new StatusSnapshot(
            now,
            new StatusSnapshot.WorkerInfo(Environment.MachineName, StartedAt, Version, consumption.IsPaused),
            Upflow(now),
            await depths,
            new StatusSnapshot.LinkCounts(totals.Generated, totals.Failed, totals.GeneratedLastMinute, totals.GeneratedLastHour,
                totals.FailedLastMinute, totals.FailedLastHour, totals.FailedByReason),
            outcomes.RecentFailures(),
            await rows);
    }

    private StatusSnapshot.UpflowInfo Upflow(DateTimeOffset now)
    {
        var max = upflowOptions.Value.MaxRequestsPerSecond;
        var rate = budget.EffectiveRate;
        return availability.Pause switch
        {
            UpflowPause.Credentials => new("credentials", "Upflow refused the API key pair (401/403): check Upflow:ApiKey and Upflow:ApiSecret",
                availability.PausedSince, null, rate, max),
            UpflowPause.Outage => new("outage", "Upflow is not answering: consumption paused, probing", availability.PausedSince, null, rate, max),
            _ when budget.PausedUntil > now => new("rate_limited", "Upflow answered 429: every call waits for the reset",
                null, budget.PausedUntil, rate, max),
            _ => new("running", "calling Upflow", null, null, rate, max),
        };
    }
}
