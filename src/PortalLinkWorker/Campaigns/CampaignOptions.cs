using System.ComponentModel.DataAnnotations;

namespace PortalLinkWorker.Campaigns;

/// <summary>Settings of the <c>Campaigns</c> section.</summary>
public sealed class CampaignOptions
{
    public const string Section = "Campaigns";

    /// <summary>Items recorded and enqueued per batch by a campaign start (one transaction, then one batch of
    /// publisher-confirmed sends). Default 1000: a 200,000-customer start keeps about one batch in memory.</summary>
    [Range(1, 100_000)]
    public int BatchSize { get; set; } = 1000;

    /// <summary>How often each worker looks for a completed campaign whose <c>PortalLinkCampaignCompleted</c> was not
    /// published (the worker that completed it died in between). Default 30 s; also done at start.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan CompletionSweepInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How old an unpublished completion must be before the sweep takes it over from the worker that completed
    /// the campaign (which normally publishes within milliseconds). Default 10 s.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan CompletionSweepGrace { get; set; } = TimeSpan.FromSeconds(10);
}
