using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Npgsql;

namespace PortalLinkWorker.Persistence;

/// <summary>Applies the committed EF Core migrations, waiting for PostgreSQL to come up first. Runs before the bus
/// starts (it is registered first), so no message is consumed against an old schema. EF Core takes a database lock
/// while migrating, so replicas starting together apply each migration once.</summary>
public sealed partial class DatabaseMigrator(
    IServiceScopeFactory scopes,
    IOptions<DatabaseOptions> options,
    TimeProvider time,
    ILogger<DatabaseMigrator> logger) : IHostedService
{
    private static readonly TimeSpan RetryPause = TimeSpan.FromSeconds(2);

    public Task StartAsync(CancellationToken cancellationToken) =>
        options.Value.MigrateOnStart ? MigrateAsync(cancellationToken) : Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task MigrateAsync(CancellationToken cancellationToken)
    {
        var deadline = time.GetUtcNow() + options.Value.StartupWait;
        while (true)
        {
            try
            {
                await using var scope = scopes.CreateAsyncScope();
                var db = scope.ServiceProvider.GetRequiredService<PortalLinkDbContext>();
                var pending = (await db.Database.GetPendingMigrationsAsync(cancellationToken)).ToList();
                await db.Database.MigrateAsync(cancellationToken);
                LogMigrated(logger, pending.Count);
                return;
            }
            catch (NpgsqlException e) when (e.IsTransient && time.GetUtcNow() < deadline)
            {
                LogWaiting(logger, e.Message);
                await Task.Delay(RetryPause, time, cancellationToken);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Database schema up to date ({Applied} migrations applied)")]
    private static partial void LogMigrated(ILogger logger, int applied);

    [LoggerMessage(Level = LogLevel.Warning, Message = "PostgreSQL not reachable yet, retrying: {Error}")]
    private static partial void LogWaiting(ILogger logger, string error);
}
