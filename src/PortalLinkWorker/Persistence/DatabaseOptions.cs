using System.ComponentModel.DataAnnotations;

namespace PortalLinkWorker.Persistence;

/// <summary>Settings of the <c>Database</c> section.</summary>
public sealed class DatabaseOptions
{
    public const string Section = "Database";

    /// <summary>Apply pending EF Core migrations when the worker starts. Default true; turn off where a deploy step runs
    /// <c>PortalLinkWorker migrate</c> instead.</summary>
    public bool MigrateOnStart { get; set; } = true;

    /// <summary>How long start-up waits for PostgreSQL to accept connections. Default 60 s.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan StartupWait { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>How long consumption pauses when PostgreSQL is unavailable mid-run, before the next message tries again.
    /// Default 5 s.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:10:00")]
    public TimeSpan OutagePause { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How long an answer Upflow gave is kept in memory while PostgreSQL is unavailable, before the message goes
    /// back to the queue (and Upflow is asked again on its redelivery). Default 30 s: a database restart or fail-over.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00")]
    public TimeSpan OutcomeSaveWait { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How often a kept answer is tried again while PostgreSQL is unavailable. Default 1 s.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:01:00")]
    public TimeSpan SaveRetryInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How long after a link expires its URL is kept before it is erased (the row stays for the record).
    /// Default 7 days: long enough to answer "which link did this customer get" with the URL, short enough that a dump
    /// does not hold every credential ever issued.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "3650.00:00:00")]
    public TimeSpan UrlRetention { get; set; } = TimeSpan.FromDays(7);

    /// <summary>How often each replica erases the URLs past <see cref="UrlRetention"/>. Default 15 minutes.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan UrlErasureInterval { get; set; } = TimeSpan.FromMinutes(15);
}
