using System.Globalization;
using PortalLinkWorker.TestKit;

namespace ThroughputBench;

/// <summary>The parameters of one benchmark run (full, or <c>--quick</c> to check the harness).</summary>
internal sealed record BenchSettings(
    bool Quick,
    int Repetitions,
    int Requests,
    int RequestsAtConcurrency1,
    int WarmUpRequests,
    int WarmUpSeconds,
    int[] Concurrencies,
    int NaiveRequests,
    int MemoryRequests,
    bool Memory,
    int PartRabbitMessages,
    int PartPostgresInserts,
    int PartSimulatorCalls,
    int PartConcurrency,
    int LatencyMs,
    int MaxBacklog,
    string WorkerLogLevel,
    Dictionary<string, string> WorkerEnvironment,
    string? WorkerDll,
    string Postgres,
    string RabbitMq,
    string[] Only)
{
    public const string RabbitMqVariable = "PORTALLINK_PERF_RABBITMQ";
    public const string VirtualHost = "portallink-perf";

    /// <summary>The worker's shipped defaults (appsettings.json): 16 messages at once, prefetch 32, 5 Upflow calls at once.</summary>
    public const int DefaultConcurrentMessageLimit = 16;
    public const int DefaultPrefetchCount = 32;
    public const int DefaultMaxConcurrentRequests = 5;

    public static readonly string[] AllScenarios = ["worker", "bare", "two", "naive", "parts", "memory"];

    public static BenchSettings FromArgs(string[] args)
    {
        var quick = args.Contains("--quick");
        var postgres = ServerVariables.RequirePostgres();
        var only = Value(args, "--only")?.Split(',') ?? AllScenarios;
        var memory = !quick || args.Contains("--memory");
        if (args.Contains("--no-memory"))
            memory = false;
        return new BenchSettings(
            Quick: quick,
            Repetitions: Int(args, "--repeat") ?? (quick ? 1 : 3),
            Requests: Int(args, "--requests") ?? (quick ? 1_000 : 4_000),
            RequestsAtConcurrency1: quick ? 300 : 500,
            WarmUpRequests: Int(args, "--warm-up") ?? (quick ? 200 : 3_000),
            WarmUpSeconds: Int(args, "--warm-up-seconds") ?? (quick ? 0 : 15),
            Concurrencies: Value(args, "--concurrency")?.Split(',').Select(c => int.Parse(c, CultureInfo.InvariantCulture)).ToArray()
                           ?? (quick ? [32] : [1, 8, 32, 128]),
            NaiveRequests: quick ? 200 : 1_000,
            MemoryRequests: Int(args, "--memory-requests") ?? (quick ? 3_000 : 100_000),
            Memory: memory && only.Contains("memory"),
            PartRabbitMessages: quick ? 3_000 : 10_000,
            PartPostgresInserts: quick ? 3_000 : 10_000,
            PartSimulatorCalls: quick ? 1_000 : 5_000,
            PartConcurrency: 8,
            LatencyMs: 5,
            MaxBacklog: 10_000,
            WorkerLogLevel: Value(args, "--worker-log-level") ?? "Information",
            WorkerEnvironment: WorkerEnvironmentFrom(args),
            WorkerDll: Value(args, "--worker-dll"),
            Postgres: postgres,
            RabbitMq: RabbitMqFromEnvironment(),
            Only: only);
    }

    /// <summary>PORTALLINK_PERF_RABBITMQ, else the tests' broker (PORTALLINK_TEST_RABBITMQ) on the vhost portallink-perf,
    /// else guest on 127.0.0.1.</summary>
    private static string RabbitMqFromEnvironment()
    {
        var own = Environment.GetEnvironmentVariable(RabbitMqVariable);
        if (!string.IsNullOrEmpty(own))
            return own;
        var tests = Environment.GetEnvironmentVariable(ServerVariables.RabbitMq);
        if (!string.IsNullOrEmpty(tests) && Uri.TryCreate(tests, UriKind.Absolute, out var uri))
            return new UriBuilder(uri) { Path = "/" + VirtualHost }.Uri.ToString();
        return $"amqp://guest:guest@127.0.0.1:5672/{VirtualHost}";
    }

    /// <summary>Every <c>--worker-env KEY=VALUE</c>: extra environment variables for the worker processes, for A/B runs
    /// of runtime or worker settings without editing anything (e.g. <c>DOTNET_TieredPGO=0</c>, <c>Serilog__MinimumLevel__Default=Warning</c>).</summary>
    private static Dictionary<string, string> WorkerEnvironmentFrom(string[] args)
    {
        var environment = new Dictionary<string, string>();
        for (var i = 0; i < args.Length - 1; i++)
            if (args[i] == "--worker-env" && args[i + 1].Split('=', 2) is [var key, var value])
                environment[key] = value;
        return environment;
    }

    /// <summary>Requests for one end-to-end run: fewer at concurrency 1, which goes one link at a time.</summary>
    public int RequestsFor(int concurrency) => concurrency == 1 ? RequestsAtConcurrency1 : Requests;

    public bool Runs(string scenario) => Only.Contains(scenario);

    public static string? Value(string[] args, string name) => args.SkipWhile(a => a != name).Skip(1).FirstOrDefault();

    public static int? Int(string[] args, string name) =>
        Value(args, name) is { } v ? int.Parse(v, CultureInfo.InvariantCulture) : null;
}
