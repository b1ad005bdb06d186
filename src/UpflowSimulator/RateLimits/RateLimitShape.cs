using System.Text.Json.Serialization;

namespace UpflowSimulator.RateLimits;

/// <summary>How the simulator counts calls against <see cref="SimulatorOptions.RateLimitPerSecond"/>.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<RateLimitShape>))]
public enum RateLimitShape
{
    /// <summary>A token bucket refilled at the rate, holding at most the rate (at least 1) tokens: a full bucket allows a burst.</summary>
    TokenBucket,

    /// <summary>A log of admitted calls: at most the rate (rounded down, at least 1) in any one-second window.</summary>
    SlidingWindow,

    /// <summary>At most the rate (rounded down, at least 1) per calendar second of UTC time.</summary>
    FixedWindowSecond,

    /// <summary>At most 60 × the rate (rounded down, at least 1) per calendar minute of UTC time: 600 a minute for 10/s, as Upflow documents.</summary>
    FixedWindowMinute,
}
