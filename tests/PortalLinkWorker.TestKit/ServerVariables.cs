namespace PortalLinkWorker.TestKit;

/// <summary>The environment variables that name the servers tests and benchmarks run against (scripts/services.sh env
/// prints them for the local ones).</summary>
public static class ServerVariables
{
    /// <summary>A PostgreSQL server where <c>CREATE DATABASE</c> is allowed.</summary>
    public const string Postgres = "PORTALLINK_TEST_POSTGRES";

    /// <summary>The tests' RabbitMQ (an AMQP URI; its virtual host is theirs).</summary>
    public const string RabbitMq = "PORTALLINK_TEST_RABBITMQ";

    /// <summary>The PostgreSQL connection string of <see cref="Postgres"/>, or a failure that says how to set it.</summary>
    public static string RequirePostgres() =>
        Environment.GetEnvironmentVariable(Postgres) is { Length: > 0 } postgres
            ? postgres
            : throw new InvalidOperationException(
                $"Set {Postgres} to a PostgreSQL server where the benchmark may CREATE DATABASE (eval \"$(bash scripts/services.sh env)\").");
}
