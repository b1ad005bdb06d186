namespace PortalLinkWorker.Persistence;

/// <summary>One row of <c>portal_link_campaigns</c>: a campaign, its counts by state and where its start and completion
/// stand. The counts change in the same transaction as the items they count.</summary>
public sealed class Campaign
{
    public Guid CampaignId { get; set; }
    public string Name { get; set; } = "";

    /// <summary>The campaign-wide defaults (an item of a CSV may have its own).</summary>
    public int? ExpiresIn { get; set; }
    public string? FrameAncestors { get; set; }
    /// <summary>The campaign's <c>ReuseIfValidFor</c>, in seconds, given to each of its requests.</summary>
    public int? ReuseIfValidFor { get; set; }

    public int Total { get; set; }
    public int PendingCount { get; set; }
    public int GeneratedCount { get; set; }
    public int FailedCount { get; set; }
    /// <summary>Of <see cref="GeneratedCount"/>, the links answered again from an earlier request without calling Upflow.</summary>
    public int ReusedCount { get; set; }

    /// <summary>1 for the start; each <c>campaign retry-failed</c> that retries something adds one. Each run ends with
    /// one <c>PortalLinkCampaignCompleted</c>.</summary>
    public int Run { get; set; } = 1;

    /// <summary>Every item is recorded: a re-run of the start inserts nothing more.</summary>
    public DateTimeOffset? RecordedAt { get; set; }

    /// <summary>Every item of the run was sent (publisher-confirmed); until then the campaign cannot complete.</summary>
    public DateTimeOffset? EnqueuedAt { get; set; }

    /// <summary>Set once per run, by the transaction that made the last item final.</summary>
    public DateTimeOffset? CompletedAt { get; set; }

    /// <summary>Set once the run's <c>PortalLinkCampaignCompleted</c> was confirmed by the broker.</summary>
    public DateTimeOffset? CompletionPublishedAt { get; set; }

    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
}
