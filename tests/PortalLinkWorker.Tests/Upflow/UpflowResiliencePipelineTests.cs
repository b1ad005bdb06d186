using System.Net;
using Microsoft.Extensions.Time.Testing;
using Polly;
using PortalLinkWorker.Upflow;

namespace PortalLinkWorker.Tests.Upflow;

/// <summary>Our pipeline configuration (not Polly itself): which answers are retried and how long a Retry-After may
/// make us wait. Time is a fake clock: no test sleeps.</summary>
[Trait("Category", "Unit")]
public sealed class UpflowResiliencePipelineTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    private static ResiliencePipeline<HttpResponseMessage> Pipeline(FakeTimeProvider time, UpflowOptions options)
    {
        var builder = new ResiliencePipelineBuilder<HttpResponseMessage> { TimeProvider = time };
        UpflowHttpClientRegistration.Build(builder, options, time);
        return builder.Build();
    }

    private static HttpResponseMessage Answer(HttpStatusCode status, TimeSpan? retryAfter = null)
    {
        var response = new HttpResponseMessage(status);
        if (retryAfter is { } wait)
            response.Headers.RetryAfter = new(wait);
        return response;
    }

    private static async Task WaitFor(Func<bool> condition)
    {
        using var limit = new CancellationTokenSource(Patience);
        while (!condition())
            await Task.Delay(5, limit.Token);
    }

    [Fact]
    public async Task RetryAfterOfAnHour_IsCappedAtMaxRetryAfter()
    {
        var time = new FakeTimeProvider();
        var options = new UpflowOptions { MaxRetryAfter = TimeSpan.FromSeconds(30), TotalTimeout = TimeSpan.FromMinutes(5), MaxRequestsPerSecond = 0 };
        var attempts = 0;
        var run = Pipeline(time, options).ExecuteAsync(_ =>
            ValueTask.FromResult(Interlocked.Increment(ref attempts) == 1
                ? Answer(HttpStatusCode.TooManyRequests, TimeSpan.FromHours(1))
                : Answer(HttpStatusCode.OK))).AsTask();

        await WaitFor(() => attempts == 1);
        time.Advance(TimeSpan.FromSeconds(29));
        await Task.Delay(50);
        Assert.Equal(1, attempts);

        time.Advance(TimeSpan.FromSeconds(1));
        var response = await run.WaitAsync(Patience);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(2, attempts);
    }

    [Fact]
    public async Task ShortRetryAfter_IsHonouredExactly()
    {
        var time = new FakeTimeProvider();
        var attempts = 0;
        var run = Pipeline(time, new UpflowOptions { MaxRequestsPerSecond = 0 }).ExecuteAsync(_ =>
            ValueTask.FromResult(Interlocked.Increment(ref attempts) == 1
                ? Answer(HttpStatusCode.ServiceUnavailable, TimeSpan.FromSeconds(3))
                : Answer(HttpStatusCode.OK))).AsTask();

        await WaitFor(() => attempts == 1);
        time.Advance(TimeSpan.FromMilliseconds(2_999));
        await Task.Delay(50);
        Assert.Equal(1, attempts);
        time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(HttpStatusCode.OK, (await run.WaitAsync(Patience)).StatusCode);
    }

    [Theory]
    [InlineData(HttpStatusCode.NotFound)]
    [InlineData(HttpStatusCode.BadRequest)]
    [InlineData(HttpStatusCode.UnprocessableEntity)]
    [InlineData(HttpStatusCode.Unauthorized)]
    public async Task NonRetryableStatus_IsNotRetried(HttpStatusCode status)
    {
        var attempts = 0;
        var response = await Pipeline(new FakeTimeProvider(), new UpflowOptions { MaxRequestsPerSecond = 0 })
            .ExecuteAsync(_ => { Interlocked.Increment(ref attempts); return ValueTask.FromResult(Answer(status)); });
        Assert.Equal(status, response.StatusCode);
        Assert.Equal(1, attempts);
    }

    [Fact]
    public async Task PersistentServerError_StopsAfterMaxRetryAttempts()
    {
        var time = new FakeTimeProvider();
        var attempts = 0;
        var options = new UpflowOptions { MaxRetryAttempts = 3, MaxRequestsPerSecond = 0, TotalTimeout = TimeSpan.FromMinutes(10) };
        var run = Pipeline(time, options).ExecuteAsync(_ =>
        {
            Interlocked.Increment(ref attempts);
            return ValueTask.FromResult(Answer(HttpStatusCode.BadGateway));
        }).AsTask();

        while (!run.IsCompleted)
        {
            await Task.Delay(5);
            time.Advance(TimeSpan.FromSeconds(1));
        }
        Assert.Equal(HttpStatusCode.BadGateway, (await run).StatusCode);
        Assert.Equal(4, attempts);
    }
}
