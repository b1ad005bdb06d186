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

    /// <summary>Most customer ids one <c>StartPortalLinkCampaign</c> message may name (at least 10,000). Default 10,000.
    /// A bigger campaign starts from a CSV file (<c>campaign start --file</c>, which streams any number of rows), or as
    /// several campaigns; a larger message is refused to the <c>_error</c> queue with the reason.</summary>
    [Range(MinCustomerIdsPerMessage, 1_000_000)]
    public int MaxCustomerIdsPerMessage { get; set; } = MinCustomerIdsPerMessage;

    /// <summary>The lowest <see cref="MaxCustomerIdsPerMessage"/> allowed, and its default.</summary>
    public const int MinCustomerIdsPerMessage = 10_000;

    /// <summary>Largest <c>StartPortalLinkCampaign</c> body accepted, in bytes, checked before it is read. Default
    /// 8,388,608 (8 MiB): 10,000 ids of up to about 800 bytes each. A start is handled one at a time (prefetch 1), so this
    /// is also about what one start holds in memory. A larger one goes to the <c>_error</c> queue with the reason.</summary>
    [Range(64 * 1024, Links.ConsumerOptions.MaxMessageSizeLimit)]
    public int MaxMessageSize { get; set; } = DefaultMaxMessageSize;

    public const int DefaultMaxMessageSize = 8 * 1024 * 1024;

    /// <summary>How often each worker looks for a completed campaign whose <c>PortalLinkCampaignCompleted</c> was not
    /// published (the worker that completed it died in between). Default 30 s; also done at start.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan CompletionSweepInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How old an unpublished completion must be before the sweep takes it over from the worker that completed
    /// the campaign (which normally publishes within milliseconds). Default 10 s.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan CompletionSweepGrace { get; set; } = TimeSpan.FromSeconds(10);
}
