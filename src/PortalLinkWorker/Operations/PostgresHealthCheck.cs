using Microsoft.Extensions.Diagnostics.HealthChecks;
using Npgsql;
using PortalLinkWorker.Persistence;

namespace PortalLinkWorker.Operations;

/// <summary>PostgreSQL answers within <see cref="Timeout"/> (<see cref="DatabaseProbe"/>, on a pool of its own).</summary>
public sealed class PostgresHealthCheck(DatabaseProbe probe) : IHealthCheck
{
    public static readonly TimeSpan Timeout = DatabaseProbe.Timeout;

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            await probe.AnswerAsync(cancellationToken);
            return HealthCheckResult.Healthy("PostgreSQL answers");
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException or OperationCanceledException or System.Net.Sockets.SocketException)
        {
            // Npgsql's messages name host and port, never the password.
            return HealthCheckResult.Unhealthy($"PostgreSQL does not answer: {e.GetBaseException().Message}");
        }
    }
}
