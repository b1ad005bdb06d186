using System.ComponentModel.DataAnnotations;

namespace PortalLinkWorker.Hosting;

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
}
