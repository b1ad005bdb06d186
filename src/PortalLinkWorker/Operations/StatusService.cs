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
    UpflowPace pace,
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
            Upflow(),
            await depths,
            new StatusSnapshot.LinkCounts(totals.Generated, totals.Failed, totals.GeneratedLastMinute, totals.GeneratedLastHour,
                totals.FailedLastMinute, totals.FailedLastHour, totals.FailedByReason),
            outcomes.RecentFailures(),
            await rows);
    }

    private StatusSnapshot.UpflowInfo Upflow()
    {
        var max = upflowOptions.Value.MaxRequestsPerSecond;
        var state = pace.State;
        var trying = state.HalfOpen ? "one queued request is trying now" : "one queued request tries at intervals";
        return state.Phase switch
        {
            UpflowPhase.CredentialsRefused => new("credentials",
                $"Upflow refused the API key pair (401/403): check Upflow:ApiKey and Upflow:ApiSecret; {trying}",
                state.PausedSince, null, state.Rate, max),
            UpflowPhase.AnswerUnreadable => new("answer_unreadable",
                $"No portal URL could be read from Upflow's answer ({state.Unreadable}): consumption paused, nothing fails; " +
                $"if Upflow renamed the field set Upflow:UrlField, if its portal moved add the host to Upflow:PortalHosts; {trying}",
                state.PausedSince, null, state.Rate, max),
            UpflowPhase.Outage => new("outage", $"Upflow is not answering: consumption paused; {trying}", state.PausedSince, null,
                state.Rate, max),
            UpflowPhase.RateLimited => new("rate_limited", "Upflow answered 429: every call waits for the reset", null,
                state.PausedUntil, state.Rate, max),
            _ => new("running", "calling Upflow", null, null, state.Rate, max),
        };
    }
}
