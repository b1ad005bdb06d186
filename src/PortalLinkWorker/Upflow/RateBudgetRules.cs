namespace PortalLinkWorker.Upflow;

/// <summary>The constants of the budget's arithmetic, taken from <see cref="UpflowOptions"/>, and the sending window's
/// allowance for transit jitter, which the reservations' spacing leaves too (<see cref="RateBudgetState.PaceRate"/>).</summary>
public sealed record RateBudgetRules(
    double MaxRate,
    double MinRate,
    double Margin,
    double IncreaseStep,
    TimeSpan IncreaseInterval,
    TimeSpan BurstWindow,
    TimeSpan IncreaseDelay,
    TimeSpan TransitJitter = default)
{
    public static RateBudgetRules From(UpflowOptions options) => new(
        options.MaxRequestsPerSecond,
        Math.Min(options.MinRequestsPerSecond, options.MaxRequestsPerSecond),
        options.LearnedRateMargin,
        options.RateIncreaseStep,
        options.RateIncreaseInterval,
        options.BurstWindow,
        options.RateIncreaseDelay,
        SendingWindow.TransitJitter);
}
