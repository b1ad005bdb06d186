namespace RateLimitBench;

/// <summary>The <c>portallink.upflow.effective_rate</c> gauge of each replica, sampled at one moment.</summary>
internal sealed record RateSample(double AtSeconds, double[] Rates);
