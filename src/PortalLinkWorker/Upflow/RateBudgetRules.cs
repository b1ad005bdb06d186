namespace PortalLinkWorker.Upflow;

/// <summary>The constants of the budget's arithmetic, taken from <see cref="UpflowOptions"/>.</summary>
public sealed record RateBudgetRules(
    double MaxRate,
    double MinRate,
    double DecreaseFactor,
    double IncreaseStep,
    TimeSpan IncreaseInterval,
    TimeSpan BurstWindow)
{
    public static RateBudgetRules From(UpflowOptions options) => new(
        options.MaxRequestsPerSecond,
        Math.Min(options.MinRequestsPerSecond, options.MaxRequestsPerSecond),
        options.RateDecreaseFactor,
        options.RateIncreaseStep,
        options.RateIncreaseInterval,
        options.BurstWindow);
}
