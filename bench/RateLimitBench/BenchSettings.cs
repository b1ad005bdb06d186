using System.Globalization;
using PortalLinkWorker.TestKit;

namespace RateLimitBench;

/// <summary>The parameters of one benchmark run, from the command line and the environment.</summary>
internal sealed record BenchSettings(
    bool Quick,
    double Limit,
    int PerSecondRequests,
    int PerMinuteRequests,
    int CampaignRequests,
    TimeSpan LiveInterval,
    int LatencyMs,
    double RateFactor,
    IReadOnlyList<string> Only,
    string Postgres,
    string RabbitMq,
    bool KeepDatabases,
    string Name)
{
    public const string RabbitMqVariable = "PORTALLINK_BENCH_RABBITMQ";
    public const string DefaultRabbitMq = "amqp://guest:guest@127.0.0.1:5672/portallink-bench";

    /// <summary>The campaign size: 1,000 items or more.</summary>
    private const int MinCampaignRequests = 1000;

    public static BenchSettings FromArgs(string[] args)
    {
        var quick = args.Contains("--quick");
        var limit = double.Parse(Value(args, "--l") ?? "20", CultureInfo.InvariantCulture);
        if (!(limit >= 1) || double.IsInfinity(limit))
            throw new ArgumentException("--l must be a number of calls per second, at least 1");
        var postgres = ServerVariables.RequirePostgres();
        var rabbit = Environment.GetEnvironmentVariable(RabbitMqVariable);
        // Full: a per-second shape takes about 40 s at L, the per-minute one two minutes (its first minute's count may
        // go in a burst, so the second minute shows whether the worker then paces). Quick: 10 s, and 10 s into minute two.
        return new BenchSettings(
            Quick: quick,
            Limit: limit,
            PerSecondRequests: (int)(limit * (quick ? 10 : 40)),
            PerMinuteRequests: (int)(limit * (quick ? 70 : 120)),
            CampaignRequests: quick ? (int)(limit * 15) : Math.Max(MinCampaignRequests, (int)(limit * 50)),
            LiveInterval: TimeSpan.FromSeconds(2),
            LatencyMs: int.Parse(Value(args, "--latency-ms") ?? "20", CultureInfo.InvariantCulture),
            RateFactor: ReadRateFactor(args),
            Only: Value(args, "--only")?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) ?? [],
            Postgres: postgres,
            RabbitMq: string.IsNullOrEmpty(rabbit) ? DefaultRabbitMq : rabbit,
            KeepDatabases: args.Contains("--keep-databases"),
            Name: Value(args, "--name") ?? "rate-limit");
    }

    /// <summary><c>--rate-factor f</c>: every worker is configured at f × (L or 3L), to measure what headroom under the
    /// limit buys (0.99: pace 1 % under it). Default 1.</summary>
    private static double ReadRateFactor(string[] args)
    {
        var factor = double.Parse(Value(args, "--rate-factor") ?? "1", CultureInfo.InvariantCulture);
        if (!(factor > 0 && factor <= 1))
            throw new ArgumentException("--rate-factor must be a number above 0 and at most 1");
        return factor;
    }

    private static string? Value(string[] args, string flag) => args.SkipWhile(a => a != flag).Skip(1).FirstOrDefault();
}
