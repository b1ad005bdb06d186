using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;
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
                await CreateHistoryTableAsync(db, cancellationToken);
                await db.Database.MigrateAsync(cancellationToken);
                LogMigrated(logger, (await db.Database.GetAppliedMigrationsAsync(cancellationToken)).LastOrDefault() ?? "none");
                return;
            }
            catch (NpgsqlException e) when (e.IsTransient && time.GetUtcNow() < deadline)
            {
                LogWaiting(logger, e.Message);
                await Task.Delay(RetryPause, time, cancellationToken);
            }
        }
    }

    /// <summary>On a new database Npgsql's provider reads the history table before creating it and EF Core logs the
    /// failed read as an error (npgsql/efcore.pg#3407), which alarms whoever reads the log; creating it first avoids that.
    /// Two replicas may race here: the loser's "already exists" is harmless.</summary>
    private static async Task CreateHistoryTableAsync(PortalLinkDbContext db, CancellationToken cancellationToken)
    {
        try
        {
            await db.Database.ExecuteSqlRawAsync(db.GetService<IHistoryRepository>().GetCreateIfNotExistsScript(), cancellationToken);
        }
        catch (PostgresException e) when (e.SqlState is PostgresErrorCodes.UniqueViolation or PostgresErrorCodes.DuplicateTable)
        {
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Database schema up to date (latest migration {Migration})")]
    private static partial void LogMigrated(ILogger logger, string migration);

    [LoggerMessage(Level = LogLevel.Warning, Message = "PostgreSQL not reachable yet, retrying: {Error}")]
    private static partial void LogWaiting(ILogger logger, string error);
}
