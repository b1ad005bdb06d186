using UpflowSimulator.RateLimits;

namespace RateLimitBench;

/// <summary>
/// One cell of the matrix: the limiter the simulator plays at L, the rate every worker replica is configured with
/// (<c>Upflow:MaxRequestsPerSecond</c>, a multiple of L), the replicas, and the backlog of bulk items.
/// </summary>
internal sealed record ScenarioSpec(string Id, BenchShape Shape, int RateMultiple, int Replicas, int Requests, bool Campaign = false)
{
    /// <summary>Upflow's in-flight limit, from its API guide.</summary>
    public const int UpflowInFlightCap = 10;

    public RateLimitShape SimulatorShape => Shape == BenchShape.InFlightCap ? RateLimitShape.TokenBucket : (RateLimitShape)Shape;

    public bool PerMinute => Shape == BenchShape.FixedWindowMinute;

    /// <summary>The rate the shape admits in the long run: for the per-minute window its count ÷ 60.</summary>
    public double LongRunRate(double limit) => SimulatorShape switch
    {
        RateLimitShape.TokenBucket => limit,
        RateLimitShape.FixedWindowMinute => RateLimitShapes.CallsPer(limit, TimeSpan.FromMinutes(1)) / 60.0,
        _ => RateLimitShapes.CallsPer(limit, TimeSpan.FromSeconds(1)),
    };

    /// <summary>The matrix of the issue: every shape × {L, 3L} × {1, 2 replicas}, 3 replicas under the sliding window at 3L, a campaign at L.</summary>
    public static IReadOnlyList<ScenarioSpec> Matrix(BenchSettings settings)
    {
        var specs = new List<ScenarioSpec>();
        foreach (var shape in Enum.GetValues<BenchShape>())
            foreach (var multiple in new[] { 1, 3 })
                foreach (var replicas in new[] { 1, 2 })
                {
                    var requests = shape == BenchShape.FixedWindowMinute ? settings.PerMinuteRequests : settings.PerSecondRequests;
                    specs.Add(new(IdOf(shape, multiple, replicas), shape, multiple, replicas, requests));
                }
        specs.Add(new(IdOf(BenchShape.SlidingWindow, 3, 3), BenchShape.SlidingWindow, 3, 3, settings.PerSecondRequests));
        specs.Add(new("campaign/" + IdOf(BenchShape.SlidingWindow, 1, 1), BenchShape.SlidingWindow, 1, 1, settings.CampaignRequests, Campaign: true));
        return specs;
    }

    private static string IdOf(BenchShape shape, int multiple, int replicas) =>
        $"{Kebab(shape)}/{(multiple == 1 ? "" : multiple.ToString(System.Globalization.CultureInfo.InvariantCulture))}L/{replicas}r";

    private static string Kebab(BenchShape shape) =>
        string.Concat(shape.ToString().Select((c, i) => char.IsUpper(c) && i > 0 ? "-" + char.ToLowerInvariant(c) : char.ToLowerInvariant(c).ToString()));
}
