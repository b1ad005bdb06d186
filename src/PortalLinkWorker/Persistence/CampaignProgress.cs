namespace PortalLinkWorker.Persistence;

/// <summary>Where a campaign stands: counts by state (of each customer's latest attempt), how many items are not yet
/// on the queue, and the pace of the last minute.</summary>
public sealed record CampaignProgress(
    Guid CampaignId,
    string Name,
    int Total,
    int Pending,
    int Generated,
    int Failed,
    int NotEnqueued,
    int Run,
    DateTimeOffset CreatedAt,
    DateTimeOffset? EnqueuedAt,
    DateTimeOffset? CompletedAt,
    DateTimeOffset? CompletionPublishedAt,
    int FinishedLastMinute,
    double LastMinuteSpanSeconds,
    int Reused = 0)
{
    /// <summary>The shortest span a rate is measured over, so that the first few items do not make a wild figure.</summary>
    private const double MinRateSpanSeconds = 5;

    public int Done => Generated + Failed;

    /// <summary>Items finished per second over the last minute, or since the first of them finished when that is
    /// sooner (0 when none).</summary>
    public double Rate => FinishedLastMinute == 0 ? 0 : FinishedLastMinute / Math.Max(MinRateSpanSeconds, LastMinuteSpanSeconds);

    /// <summary>Time left at <see cref="Rate"/>; null when nothing is moving or nothing is left.</summary>
    public TimeSpan? EstimatedTimeLeft => Pending == 0 || Rate <= 0 ? null : TimeSpan.FromSeconds(Pending / Rate);

    public bool IsCompleted => CompletedAt is not null;
}
