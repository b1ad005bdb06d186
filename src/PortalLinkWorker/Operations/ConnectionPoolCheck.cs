using Microsoft.Extensions.Options;
using Npgsql;
using PortalLinkWorker.Links;
using PortalLinkWorker.Persistence;

namespace PortalLinkWorker.Operations;

/// <summary>Warns at start (and in <c>check-config</c>) when the worker may handle more messages at once than its
/// PostgreSQL pool has connections: a message in flight holds one for its transaction, so the others wait for one.</summary>
public sealed partial class ConnectionPoolCheck(
    IOptions<ConsumerOptions> consumer,
    IOptions<ConnectionOptions> connections,
    ILogger<ConnectionPoolCheck> logger) : IHostedService
{
    /// <summary>The warning for these settings, or null when the pool has a connection for every message at once.</summary>
    public static string? Warning(ConsumerOptions consumer, string postgresConnectionString)
    {
        var pool = new NpgsqlConnectionStringBuilder(postgresConnectionString);
        var messages = consumer.ConcurrentMessageLimit + consumer.BulkConcurrentMessageLimit;
        if (!pool.Pooling || messages <= pool.MaxPoolSize)
            return null;
        return $"Consumer:ConcurrentMessageLimit + Consumer:BulkConcurrentMessageLimit = {messages} messages at once, " +
               $"but the PostgreSQL connection string's Maximum Pool Size is {pool.MaxPoolSize}: each message in flight " +
               "holds a connection, so the others wait for one. Raise Maximum Pool Size (and PostgreSQL's max_connections " +
               "for all replicas) or lower the limits.";
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (Warning(consumer.Value, connections.Value.Postgres) is { } warning)
            LogWarning(logger, warning);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Warning}")]
    private static partial void LogWarning(ILogger logger, string warning);
}
