namespace PortalLinkWorker.Upflow;

/// <summary>The constants of the budget's arithmetic, taken from <see cref="UpflowOptions"/>.</summary>
public sealed record RateBudgetRules(
    double MaxRate,
    double MinRate,
    double Margin,
    double IncreaseStep,
    TimeSpan IncreaseInterval,
    TimeSpan BurstWindow,
    TimeSpan IncreaseDelay)
{
    public static RateBudgetRules From(UpflowOptions options) => new(
        options.MaxRequestsPerSecond,
        Math.Min(options.MinRequestsPerSecond, options.MaxRequestsPerSecond),
        options.LearnedRateMargin,
        options.RateIncreaseStep,
        options.RateIncreaseInterval,
        options.BurstWindow,
        options.RateIncreaseDelay);
}
