namespace PortalLinkWorker.Persistence;

/// <summary>PostgreSQL keeps timestamps to the microsecond, .NET to 100 ns. Times are cut to the microsecond before they
/// are stored and published, so an event re-published from the row equals the first one.</summary>
public static class PostgresTime
{
    private const long TicksPerMicrosecond = TimeSpan.TicksPerMillisecond / 1000;

    public static DateTimeOffset Truncate(DateTimeOffset value) =>
        new(value.UtcTicks - value.UtcTicks % TicksPerMicrosecond, TimeSpan.Zero);
}
