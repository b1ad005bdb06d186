namespace RateLimitBench;

/// <summary>What <c>bench/results/&lt;name&gt;.json</c> holds: the machine, the parameters, every scenario's figures.</summary>
internal sealed record RunDocument(RunMachine Machine, RunParameters Parameters, double TotalSeconds,
    IReadOnlyList<ScenarioResult> Scenarios, IReadOnlyList<string> Errors);

internal sealed record RunMachine(int Nproc, double MemoryGiB, string Os, string Runtime, string Date);

internal sealed record RunParameters(string Mode, double LimitPerSecond, int PerSecondRequests, int PerMinuteRequests,
    int CampaignRequests, double LiveIntervalSeconds, int SimulatorLatencyMs, int WorkerMaxConcurrentRequests,
    string RabbitMqVirtualHost, IReadOnlyList<string> Only);
