namespace RateLimitBench;

/// <summary>The parameters of one benchmark run (full or <c>--quick</c>).</summary>
internal sealed record BenchSettings(
    bool Quick,
    double Limit,
    int Requests,
    int OutageRequests,
    TimeSpan Outage,
    int LatencyMs,
    int MaxConcurrentRequests,
    int ConcurrentMessageLimit,
    string Postgres,
    string RabbitMq,
    bool KeepDatabases)
{
    public const string PostgresVariable = "PORTALLINK_TEST_POSTGRES";
    public const string RabbitMqVariable = "PORTALLINK_BENCH_RABBITMQ";
    public const string DefaultRabbitMq = "amqp://guest:guest@127.0.0.1:5672/portallink-bench";

    public static BenchSettings FromArgs(string[] args)
    {
        var quick = args.Contains("--quick");
        var postgres = Environment.GetEnvironmentVariable(PostgresVariable);
        if (string.IsNullOrEmpty(postgres))
            throw new InvalidOperationException(
                $"Set {PostgresVariable} to a PostgreSQL server where the benchmark may CREATE DATABASE " +
                "(cd /work/main && eval \"$(bash scripts/services.sh env)\").");
        var rabbit = Environment.GetEnvironmentVariable(RabbitMqVariable);
        return new BenchSettings(
            Quick: quick,
            Limit: quick ? 20 : 50,
            Requests: quick ? 300 : 3000,
            OutageRequests: quick ? 300 : 9000,
            Outage: TimeSpan.FromSeconds(quick ? 20 : 120),
            LatencyMs: 20,
            MaxConcurrentRequests: 5,
            ConcurrentMessageLimit: 16,
            Postgres: postgres,
            RabbitMq: string.IsNullOrEmpty(rabbit) ? DefaultRabbitMq : rabbit,
            KeepDatabases: args.Contains("--keep-databases"));
    }
}
