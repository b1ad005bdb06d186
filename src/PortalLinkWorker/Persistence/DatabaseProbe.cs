using Microsoft.Extensions.Options;
using Npgsql;

namespace PortalLinkWorker.Persistence;

/// <summary>PostgreSQL answers <c>SELECT 1</c> within <see cref="Timeout"/>. Its own connection pool (a shorter connect
/// timeout than the worker's), so a slow probe never waits behind busy consumers.</summary>
public sealed class DatabaseProbe(IOptions<ConnectionOptions> connections)
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(3);

    private readonly string _connectionString = new NpgsqlConnectionStringBuilder(connections.Value.Postgres)
    {
        Timeout = (int)Timeout.TotalSeconds,
        CommandTimeout = (int)Timeout.TotalSeconds,
        ApplicationName = "portal-link-worker-health",
        MaxPoolSize = 2,
    }.ConnectionString;

    /// <summary>Returns when PostgreSQL answered; throws what Npgsql throws when it does not.</summary>
    public async Task AnswerAsync(CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(_connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand("SELECT 1", connection);
        await command.ExecuteScalarAsync(cancellationToken);
    }
}
