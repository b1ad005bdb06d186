using System.ComponentModel.DataAnnotations;

namespace PortalLinkWorker.Links;

/// <summary>Settings of the <c>Consumer</c> section: how many messages the worker handles at once.</summary>
public sealed class ConsumerOptions
{
    public const string Section = "Consumer";

    /// <summary>Messages handled at once by one worker process. Default 16: above Upflow's concurrency so that
    /// database work overlaps Upflow calls; each in-flight message holds one PostgreSQL connection.</summary>
    [Range(1, 1_000)]
    public int ConcurrentMessageLimit { get; set; } = 16;

    /// <summary>Messages RabbitMQ hands out ahead of acknowledgement. Default 32.</summary>
    [Range(1, 10_000)]
    public int PrefetchCount { get; set; } = 32;

    /// <summary>Campaign items (queue <c>generate-portal-link-bulk</c>) handled at once by one worker process. Default 8:
    /// enough to keep the Upflow slots campaigns may use busy, few enough that campaign work waits in RabbitMQ rather
    /// than in memory in front of live requests.</summary>
    [Range(1, 1_000)]
    public int BulkConcurrentMessageLimit { get; set; } = 8;

    /// <summary>Campaign items RabbitMQ hands out ahead of acknowledgement. Default 8.</summary>
    [Range(1, 10_000)]
    public int BulkPrefetchCount { get; set; } = 8;

    /// <summary>Largest <c>GeneratePortalLink</c> body accepted, in bytes, checked before it is read (both lanes). Default
    /// 65,536 (64 KiB): a valid request with the longest CustomerId and FrameAncestors and MassTransit's envelope takes
    /// under 16 KiB. A larger one is answered with <c>PortalLinkFailed</c> (InvalidRequest) when it names a RequestId,
    /// else moved to the <c>_error</c> queue with the reason. Memory in use for bodies is at most
    /// (<see cref="PrefetchCount"/> + <see cref="BulkPrefetchCount"/>) × this, plus what the broker pushes of larger ones.</summary>
    [Range(MinMessageSize, MaxMessageSizeLimit)]
    public int MaxMessageSize { get; set; } = DefaultMaxMessageSize;

    public const int DefaultMaxMessageSize = 64 * 1024;
    public const int MinMessageSize = 4 * 1024;
    /// <summary>16 MiB: RabbitMQ 4's default <c>max_message_size</c>.</summary>
    public const int MaxMessageSizeLimit = 16 * 1024 * 1024;

    /// <summary>On shutdown (SIGTERM), how long messages in flight may take to finish before they are cancelled and go
    /// back to the queue unacknowledged. Default 20 s; keep it below the orchestrator's grace period (Kubernetes: 30 s).</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00")]
    public TimeSpan StopTimeout { get; set; } = TimeSpan.FromSeconds(20);
}
