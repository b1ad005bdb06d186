namespace RateLimitBench;

/// <summary>What one scenario sets up: worker rate per replica, replicas, the simulator's limit, the load, an outage.</summary>
internal sealed record ScenarioSpec(
    string Id,
    string Title,
    double WorkerRate,
    int Replicas,
    double SimulatorRate,
    int Requests,
    TimeSpan? Outage);
