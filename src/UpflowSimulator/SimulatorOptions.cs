using UpflowSimulator.RateLimits;

namespace UpflowSimulator;

/// <summary>
/// Behaviour of the Upflow simulator. Bound from the <c>Simulator</c> configuration section
/// (environment variables such as <c>Simulator__ApiKey</c> override it) and replaceable at runtime
/// through <c>PUT /_simulator/config</c>. Instances are never mutated once in use.
/// </summary>
public sealed class SimulatorOptions
{
    /// <summary>Configuration section the options are bound from.</summary>
    public const string SectionName = "Simulator";

    /// <summary>Value the caller must send in <c>X-Api-Key</c>. Default <c>sim-key</c>.</summary>
    public string ApiKey { get; init; } = "sim-key";

    /// <summary>Value the caller must send in <c>X-Api-Secret</c>. Default <c>sim-secret</c>. Never logged, shown as <c>***</c>.</summary>
    public string ApiSecret { get; init; } = "sim-secret";

    /// <summary>Delay in milliseconds added before every answer of the portal endpoint. Default 0.</summary>
    public int LatencyMs { get; init; }

    /// <summary>
    /// Calls allowed per second, counted as <see cref="RateLimitShape"/> says; calls over it answer 429 with
    /// <c>Retry-After</c> (see <see cref="RetryAfterFormat"/>). Default 0, meaning unlimited.
    /// </summary>
    public double RateLimitPerSecond { get; init; }

    /// <summary>
    /// How calls are counted against <see cref="RateLimitPerSecond"/>: <c>TokenBucket</c> (burst equal to the rate, at
    /// least 1), <c>SlidingWindow</c> (any one-second window), <c>FixedWindowSecond</c> or <c>FixedWindowMinute</c>
    /// (calendar windows, the minute allowing 60 × the rate). Default <c>TokenBucket</c>.
    /// </summary>
    public RateLimitShape RateLimitShape { get; init; } = RateLimitShape.TokenBucket;

    /// <summary>
    /// How every 429 (rate limit and in-flight cap) writes <c>Retry-After</c>: <c>Seconds</c> (whole seconds, rounded
    /// up, at least 1), <c>HttpDate</c> (RFC 1123 date, rounded up to the second) or <c>None</c> (no header). Default <c>Seconds</c>.
    /// </summary>
    public RetryAfterFormat RetryAfterFormat { get; init; } = RetryAfterFormat.Seconds;

    /// <summary>
    /// Requests processed at the same time above which new ones answer 429. Default 0, meaning unlimited
    /// (the real Upflow allows 10).
    /// </summary>
    public int MaxConcurrentRequests { get; init; }

    /// <summary>Fraction (0..1) of calls that answer 503. Default 0.</summary>
    public double ErrorRate { get; init; }

    /// <summary>Fraction (0..1) of calls delayed by <see cref="SlowMs"/>, for client timeout tests. Default 0.</summary>
    public double SlowRate { get; init; }

    /// <summary>Delay in milliseconds applied to the calls picked by <see cref="SlowRate"/>. Default 30000.</summary>
    public int SlowMs { get; init; } = 30_000;

    /// <summary>
    /// Customer id prefixes (compared case-insensitively) that answer 404 Customer not found; every other
    /// well-formed id exists. Default <c>external:unknown</c> and <c>00000000-</c>.
    /// </summary>
    public IReadOnlyList<string> UnknownCustomerPrefixes { get; init; } = ["external:unknown", "00000000-"];

    /// <summary>Answer 200 with <c>link</c> and <c>id</c> instead of <c>url</c>, to test a client's missing-field handling. Default false.</summary>
    public bool OmitUrl { get; init; }

    /// <summary>
    /// The field a successful answer carries the portal URL in. Default <c>url</c>, what Upflow sends; another name (such
    /// as <c>link</c>) stands for an Upflow whose answer changed, to test a client's <c>Upflow:UrlField</c>. Ignored when
    /// <see cref="OmitUrl"/> is set.
    /// </summary>
    public string UrlField { get; init; } = "url";

    /// <summary>Add <c>expiresAt</c> (now plus <c>expiresIn</c>, ISO-8601) to successful answers. Default false.</summary>
    public bool IncludeExpiresAt { get; init; }

    /// <summary>
    /// Serve the unauthenticated <c>/_simulator/*</c> endpoints (calls, stats, reset, config). Read at start only; it
    /// cannot be changed through <c>PUT /_simulator/config</c>. Default false: without it those paths answer 404.
    /// </summary>
    public bool AdminEndpoints { get; init; }

    /// <summary>Seed for the error and slow draws, for repeatable runs; null draws unpredictably. Default null. Tokens always come from a cryptographic generator.</summary>
    public int? Seed { get; init; }

    /// <summary>Returns a description of the first invalid value, or null when the options are usable.</summary>
    public string? Validate()
    {
        if (string.IsNullOrEmpty(ApiKey))
        {
            return "apiKey must not be empty";
        }

        if (string.IsNullOrEmpty(ApiSecret))
        {
            return "apiSecret must not be empty";
        }

        if (LatencyMs < 0 || SlowMs < 0)
        {
            return "latencyMs and slowMs must not be negative";
        }

        if (!(RateLimitPerSecond >= 0) || double.IsInfinity(RateLimitPerSecond))
        {
            return "rateLimitPerSecond must be a finite number not below 0";
        }

        if (!Enum.IsDefined(RateLimitShape))
        {
            return $"rateLimitShape must be one of {string.Join(", ", Enum.GetNames<RateLimitShape>())}";
        }

        if (!Enum.IsDefined(RetryAfterFormat))
        {
            return $"retryAfterFormat must be one of {string.Join(", ", Enum.GetNames<RetryAfterFormat>())}";
        }

        if (MaxConcurrentRequests < 0)
        {
            return "maxConcurrentRequests must not be negative";
        }

        if (!(ErrorRate is >= 0 and <= 1) || !(SlowRate is >= 0 and <= 1))
        {
            return "errorRate and slowRate must be between 0 and 1";
        }

        if (string.IsNullOrEmpty(UrlField) || UrlField is "expiresAt")
        {
            return "urlField must be a field name other than expiresAt";
        }

        if (UnknownCustomerPrefixes is null || UnknownCustomerPrefixes.Any(string.IsNullOrEmpty))
        {
            return "unknownCustomerPrefixes must be a list of non-empty strings";
        }

        return null;
    }
}
