using PortalLinkWorker.Links;

namespace PortalLinkWorker.Operations;

/// <summary>What <c>/status.json</c> answers and the status page shows. Never a portal URL or a secret.</summary>
public sealed record StatusSnapshot(
    DateTimeOffset At,
    StatusSnapshot.WorkerInfo Worker,
    StatusSnapshot.UpflowInfo Upflow,
    IReadOnlyList<QueueDepths.Depth> Queues,
    StatusSnapshot.LinkCounts Links,
    IReadOnlyList<LinkOutcomes.RecentFailure> RecentFailures,
    IReadOnlyList<StatusSnapshot.CampaignRow> Campaigns)
{
    /// <summary>This process: the numbers of <see cref="Links"/> and <see cref="RecentFailures"/> are its own (each
    /// replica has its page); the queues and campaigns are shared.</summary>
    public sealed record WorkerInfo(string Host, DateTimeOffset StartedAt, string Version, bool ConsumptionPaused);

    /// <summary>Upflow as this process sees it. <c>State</c>: <c>running</c>, <c>rate_limited</c> (a 429 pause),
    /// <c>outage</c>, <c>credentials</c> or <c>answer_unreadable</c> (a 2xx without a readable portal URL; the description
    /// names the fields that came and their JSON kinds, never a value).</summary>
    public sealed record UpflowInfo(string State, string Description, DateTimeOffset? PausedSince, DateTimeOffset? PausedUntil,
        double EffectiveRate, double MaxRate);

    public sealed record LinkCounts(long Generated, long Failed, long GeneratedLastMinute, long GeneratedLastHour,
        long FailedLastMinute, long FailedLastHour, IReadOnlyDictionary<string, long> FailedByReason);

    /// <summary>One campaign's progress: <see cref="Total"/> requests, of which <see cref="Generated"/> and
    /// <see cref="Failed"/> have ended.</summary>
    public sealed record CampaignRow(Guid Id, string Name, string State, long Total, long Generated, long Failed, DateTimeOffset StartedAt);
}
