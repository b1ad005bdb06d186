using Microsoft.Extensions.Time.Testing;
using UpflowSimulator.RateLimits;

namespace PortalLinkWorker.Tests.Simulator;

/// <summary>The simulator's rate-limit shapes on a fake clock: how many calls each admits at its boundaries, and the waits it asks for.</summary>
[Trait("Category", "Unit")]
public sealed class RateLimitShapeTests
{
    /// <summary>A quarter past a whole second, so calendar windows do not start at the fake clock's start.</summary>
    private static readonly DateTimeOffset Start = new(2026, 12, 1, 16, 0, 30, 250, TimeSpan.Zero);

    [Theory]
    [InlineData(RateLimitShape.TokenBucket, typeof(TokenBucketShape))]
    [InlineData(RateLimitShape.SlidingWindow, typeof(SlidingWindowShape))]
    [InlineData(RateLimitShape.FixedWindowSecond, typeof(FixedWindowShape))]
    [InlineData(RateLimitShape.FixedWindowMinute, typeof(FixedWindowShape))]
    public void Create_each_shape_builds_its_class(RateLimitShape shape, Type expected)
    {
        var limiter = RateLimitShapes.Create(shape, 10, new FakeTimeProvider(Start));

        Assert.IsType(expected, limiter);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    public void Create_rate_not_above_zero_or_not_finite_throws(double rate)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => RateLimitShapes.Create(RateLimitShape.TokenBucket, rate, new FakeTimeProvider(Start)));
    }

    [Fact]
    public void Create_unknown_shape_throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => RateLimitShapes.Create((RateLimitShape)42, 10, new FakeTimeProvider(Start)));
    }

    [Theory]
    [InlineData(10, 1, 10)]
    [InlineData(10.9, 1, 10)]
    [InlineData(0.3, 1, 1)]
    [InlineData(10, 60, 600)]
    [InlineData(20, 60, 1200)]
    [InlineData(0.1, 60, 6)]
    [InlineData(0.001, 60, 1)]
    public void CallsPer_rounds_down_to_at_least_one(double rate, int windowSeconds, int expected)
    {
        Assert.Equal(expected, RateLimitShapes.CallsPer(rate, TimeSpan.FromSeconds(windowSeconds)));
    }

    [Fact]
    public void TokenBucket_full_bucket_admits_the_rate_then_asks_for_one_token_time()
    {
        var time = new FakeTimeProvider(Start);
        // Rates and steps exact in binary floating point, so the refill lands on whole tokens.
        var bucket = RateLimitShapes.Create(RateLimitShape.TokenBucket, 4, time);

        Assert.Equal(4, AdmitAll(bucket, 100));
        Assert.False(bucket.TryAdmit(out var retryAfter));
        Assert.Equal(TimeSpan.FromMilliseconds(250), retryAfter);

        time.Advance(TimeSpan.FromMilliseconds(125));
        Assert.False(bucket.TryAdmit(out retryAfter));
        Assert.Equal(TimeSpan.FromMilliseconds(125), retryAfter);

        time.Advance(TimeSpan.FromMilliseconds(125));
        Assert.Equal(1, AdmitAll(bucket, 100));
    }

    [Fact]
    public void TokenBucket_long_idle_refills_no_more_than_the_rate()
    {
        var time = new FakeTimeProvider(Start);
        var bucket = RateLimitShapes.Create(RateLimitShape.TokenBucket, 10, time);
        AdmitAll(bucket, 100);

        time.Advance(TimeSpan.FromHours(1));

        Assert.Equal(10, AdmitAll(bucket, 100));
    }

    [Fact]
    public void TokenBucket_rate_below_one_holds_one_token()
    {
        var time = new FakeTimeProvider(Start);
        var bucket = RateLimitShapes.Create(RateLimitShape.TokenBucket, 0.5, time);

        Assert.Equal(1, AdmitAll(bucket, 100));
        Assert.False(bucket.TryAdmit(out var retryAfter));
        Assert.Equal(TimeSpan.FromSeconds(2), retryAfter);
    }

    [Fact]
    public void SlidingWindow_admits_the_limit_then_waits_for_the_oldest_call_to_leave()
    {
        var time = new FakeTimeProvider(Start);
        var window = RateLimitShapes.Create(RateLimitShape.SlidingWindow, 2.9, time);

        Assert.True(window.TryAdmit(out _));
        time.Advance(TimeSpan.FromMilliseconds(500));
        Assert.True(window.TryAdmit(out _));
        Assert.False(window.TryAdmit(out var retryAfter));
        Assert.Equal(TimeSpan.FromMilliseconds(500), retryAfter);

        time.Advance(TimeSpan.FromMilliseconds(499));
        Assert.False(window.TryAdmit(out retryAfter));
        Assert.Equal(TimeSpan.FromMilliseconds(1), retryAfter);

        time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.True(window.TryAdmit(out _));
        Assert.False(window.TryAdmit(out retryAfter));
        Assert.Equal(TimeSpan.FromMilliseconds(500), retryAfter);
    }

    [Fact]
    public void SlidingWindow_a_burst_leaves_the_window_together()
    {
        var time = new FakeTimeProvider(Start);
        var window = RateLimitShapes.Create(RateLimitShape.SlidingWindow, 10, time);

        Assert.Equal(10, AdmitAll(window, 100));
        Assert.False(window.TryAdmit(out var retryAfter));
        Assert.Equal(TimeSpan.FromSeconds(1), retryAfter);

        time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(10, AdmitAll(window, 100));
    }

    [Fact]
    public void SlidingWindow_never_admits_more_than_the_limit_in_any_second()
    {
        var time = new FakeTimeProvider(Start);
        var window = RateLimitShapes.Create(RateLimitShape.SlidingWindow, 7, time);
        var admitted = new List<DateTimeOffset>();

        // Uneven steps and bursts of 0..4 attempts, for 20 simulated seconds.
        for (var step = 0; step < 1000; step++)
        {
            for (var attempt = 0; attempt < step % 5; attempt++)
            {
                if (window.TryAdmit(out _))
                {
                    admitted.Add(time.GetUtcNow());
                }
            }

            time.Advance(TimeSpan.FromMilliseconds(7 + (step % 13 * 3)));
        }

        Assert.True(admitted.Count > 100);
        for (var i = 7; i < admitted.Count; i++)
        {
            Assert.True(admitted[i] - admitted[i - 7] >= TimeSpan.FromSeconds(1), $"calls {i - 7} and {i} are less than a second apart");
        }
    }

    [Fact]
    public void FixedWindowSecond_counts_per_calendar_second_and_waits_for_its_end()
    {
        var time = new FakeTimeProvider(Start);
        var window = RateLimitShapes.Create(RateLimitShape.FixedWindowSecond, 5, time);

        Assert.Equal(5, AdmitAll(window, 100));
        Assert.False(window.TryAdmit(out var retryAfter));
        Assert.Equal(TimeSpan.FromMilliseconds(750), retryAfter);

        time.Advance(TimeSpan.FromMilliseconds(749));
        Assert.False(window.TryAdmit(out retryAfter));
        Assert.Equal(TimeSpan.FromMilliseconds(1), retryAfter);

        time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(5, AdmitAll(window, 100));
    }

    [Fact]
    public void FixedWindowSecond_admits_two_limits_across_a_window_edge()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 1, 16, 0, 30, 999, TimeSpan.Zero));
        var window = RateLimitShapes.Create(RateLimitShape.FixedWindowSecond, 5, time);

        Assert.Equal(5, AdmitAll(window, 100));
        time.Advance(TimeSpan.FromMilliseconds(1));

        Assert.Equal(5, AdmitAll(window, 100));
    }

    [Fact]
    public void FixedWindowMinute_admits_sixty_times_the_rate_per_calendar_minute()
    {
        var time = new FakeTimeProvider(Start);
        var window = RateLimitShapes.Create(RateLimitShape.FixedWindowMinute, 10, time);

        Assert.Equal(600, AdmitAll(window, 1000));
        Assert.False(window.TryAdmit(out var retryAfter));
        Assert.Equal(TimeSpan.FromMilliseconds(29_750), retryAfter);

        time.Advance(TimeSpan.FromMilliseconds(29_749));
        Assert.Equal(0, AdmitAll(window, 1000));

        time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(600, AdmitAll(window, 1000));
        Assert.False(window.TryAdmit(out retryAfter));
        Assert.Equal(TimeSpan.FromMinutes(1), retryAfter);
    }

    [Fact]
    public void FixedWindowShape_window_that_does_not_divide_a_day_throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new FixedWindowShape(5, TimeSpan.FromSeconds(7), new FakeTimeProvider(Start)));
    }

    private static int AdmitAll(IRateLimitShape shape, int attempts)
    {
        var admitted = 0;
        for (var i = 0; i < attempts; i++)
        {
            if (shape.TryAdmit(out var retryAfter))
            {
                admitted++;
            }
            else
            {
                Assert.True(retryAfter > TimeSpan.Zero);
            }
        }

        return admitted;
    }
}
