using PortalLinkWorker.TestKit;
using Testcontainers.PostgreSql;
using Testcontainers.RabbitMq;

namespace PortalLinkWorker.Tests.Integration;

/// <summary>
/// The real PostgreSQL and RabbitMQ the integration tests use: the servers named by <c>PORTALLINK_TEST_POSTGRES</c> and
/// <c>PORTALLINK_TEST_RABBITMQ</c> (scripts/test.sh starts local ones and sets both), or else containers started through
/// Testcontainers where a Docker engine answers. Each test run gets a database of its own.
/// </summary>
public static class TestServices
{
    private static readonly SemaphoreSlim Gate = new(1, 1);
    private static (string Postgres, string RabbitMq)? _servers;

    public static async Task<(string Postgres, string RabbitMq)> ServersAsync()
    {
        await Gate.WaitAsync();
        try
        {
            return _servers ??= await StartAsync();
        }
        finally
        {
            Gate.Release();
        }
    }

    /// <summary>Creates an empty database for one fixture and returns its connection string.</summary>
    public static async Task<string> CreateDatabaseAsync(string prefix)
    {
        var (postgres, _) = await ServersAsync();
        return await new DatabaseFactory(postgres).CreateAsync(prefix);
    }

    private static async Task<(string, string)> StartAsync()
    {
        var postgres = Environment.GetEnvironmentVariable(ServerVariables.Postgres);
        var rabbit = Environment.GetEnvironmentVariable(ServerVariables.RabbitMq);
        if (!string.IsNullOrEmpty(postgres) && !string.IsNullOrEmpty(rabbit))
            return (postgres, rabbit);
        try
        {
            var pg = new PostgreSqlBuilder("postgres:15").Build();
            var mq = new RabbitMqBuilder("rabbitmq:3.13").Build();
            await Task.WhenAll(pg.StartAsync(), mq.StartAsync());
            return (pg.GetConnectionString(), mq.GetConnectionString());
        }
        catch (Exception e)
        {
            throw new InvalidOperationException(
                $"The integration tests need a real PostgreSQL and RabbitMQ: set {ServerVariables.Postgres} and {ServerVariables.RabbitMq} " +
                "(scripts/test.sh starts local servers and sets both) or run a Docker engine for Testcontainers. " +
                $"Starting containers failed: {e.Message}", e);
        }
    }
}
