using System.Net.Http.Headers;
using PortalLinkWorker.Upflow;

namespace PortalLinkWorker.Tests.Upflow;

[Trait("Category", "Unit")]
public sealed class RetryAfterHeaderTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 28, 12, 0, 0, TimeSpan.Zero);

    private static HttpResponseHeaders Headers(params (string Name, string Value)[] headers)
    {
        var response = new HttpResponseMessage();
        foreach (var (name, value) in headers)
            response.Headers.TryAddWithoutValidation(name, value);
        return response.Headers;
    }

    [Fact]
    public void Read_DeltaSeconds() =>
        Assert.Equal(TimeSpan.FromSeconds(7), RetryAfterHeader.Read(Headers(("Retry-After", "7")), Now));

    [Fact]
    public void Read_HttpDate() =>
        Assert.Equal(TimeSpan.FromSeconds(90), RetryAfterHeader.Read(Headers(("Retry-After", "Sat, 28 Nov 2026 12:01:30 GMT")), Now));

    [Fact]
    public void Read_HttpDateInThePast_IsZero() =>
        Assert.Equal(TimeSpan.Zero, RetryAfterHeader.Read(Headers(("Retry-After", "Sat, 28 Nov 2026 11:00:00 GMT")), Now));

    [Fact]
    public void Read_RateLimitResetSeconds_WhenNoRetryAfter() =>
        Assert.Equal(TimeSpan.FromSeconds(12), RetryAfterHeader.Read(Headers(("RateLimit-Reset", "12")), Now));

    [Fact]
    public void Read_XRateLimitResetEpoch() =>
        Assert.Equal(TimeSpan.FromSeconds(30),
            RetryAfterHeader.Read(Headers(("X-RateLimit-Reset", Now.AddSeconds(30).ToUnixTimeSeconds().ToString())), Now));

    [Fact]
    public void Read_RetryAfterWinsOverReset() =>
        Assert.Equal(TimeSpan.FromSeconds(2), RetryAfterHeader.Read(Headers(("Retry-After", "2"), ("RateLimit-Reset", "50")), Now));

    [Theory]
    [InlineData("Retry-After", "soon")]
    [InlineData("RateLimit-Reset", "-3")]
    [InlineData("X-RateLimit-Reset", "abc")]
    [InlineData("X-Other", "5")]
    public void Read_Unreadable_IsNull(string name, string value) =>
        Assert.Null(RetryAfterHeader.Read(Headers((name, value)), Now));
}
