using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Npgsql;
using PortalLinkWorker.Persistence;

namespace PortalLinkWorker.Operations;

/// <summary>PostgreSQL answers <c>SELECT 1</c> within <see cref="Timeout"/>. Its own connection pool (a shorter connect
/// timeout than the worker's), so a slow check never waits behind busy consumers.</summary>
public sealed class PostgresHealthCheck(IOptions<ConnectionOptions> connections) : IHealthCheck
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(3);

    private readonly string _connectionString = new NpgsqlConnectionStringBuilder(connections.Value.Postgres)
    {
        Timeout = (int)Timeout.TotalSeconds,
        CommandTimeout = (int)Timeout.TotalSeconds,
        ApplicationName = "portal-link-worker-health",
        MaxPoolSize = 2,
    }.ConnectionString;

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            await using var connection = new NpgsqlConnection(_connectionString);
            await connection.OpenAsync(cancellationToken);
            await using var command = new NpgsqlCommand("SELECT 1", connection);
            await command.ExecuteScalarAsync(cancellationToken);
            return HealthCheckResult.Healthy("PostgreSQL answers");
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException or OperationCanceledException or System.Net.Sockets.SocketException)
        {
            // Npgsql's messages name host and port, never the password.
            return HealthCheckResult.Unhealthy($"PostgreSQL does not answer: {e.GetBaseException().Message}");
        }
    }
}
