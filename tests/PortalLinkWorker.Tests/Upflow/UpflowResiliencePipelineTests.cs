using System.Net;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Polly;
using PortalLinkWorker.Upflow;

namespace PortalLinkWorker.Tests.Upflow;

/// <summary>Our pipeline configuration (not Polly itself): what is retried, what a 429 or a 401 does, when Upflow counts
/// as down. Time is a fake clock: no test sleeps.</summary>
[Trait("Category", "Unit")]
public sealed class UpflowResiliencePipelineTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    private sealed record Setup(ResiliencePipeline<HttpResponseMessage> Pipeline, UpflowAvailability Availability, RateBudget Budget);

    private static Setup Build(FakeTimeProvider time, UpflowOptions options)
    {
        var availability = new UpflowAvailability(Options.Create(options), time, NullLogger<UpflowAvailability>.Instance);
        var budget = RateBudgetTests.Budget(new InMemoryRateBudgetStore(time), time, options);
        var builder = new ResiliencePipelineBuilder<HttpResponseMessage> { TimeProvider = time };
        UpflowHttpClientRegistration.Build(builder, options, time, new UpflowPace(budget, availability, time));
        return new Setup(builder.Build(), availability, budget);
    }

    private static HttpResponseMessage Answer(HttpStatusCode status, TimeSpan? retryAfter = null)
    {
        var response = new HttpResponseMessage(status);
        if (retryAfter is { } wait)
            response.Headers.RetryAfter = new(wait);
        return response;
    }

    private static ValueTask<HttpResponseMessage> Run(Setup setup, Func<int, HttpResponseMessage> answer, Guid? requestId = null) =>
        Run(setup, n => ValueTask.FromResult(answer(n)), requestId);

    private static ValueTask<HttpResponseMessage> Run(Setup setup, Func<int, Task<HttpResponseMessage>> answer, Guid? requestId = null) =>
        Run(setup, n => new ValueTask<HttpResponseMessage>(answer(n)), requestId);

    private static ValueTask<HttpResponseMessage> Run(Setup setup, Func<int, ValueTask<HttpResponseMessage>> answer, Guid? requestId = null)
    {
        var attempts = 0;
        var context = ResilienceContextPool.Shared.Get();
        var request = new HttpRequestMessage(HttpMethod.Post, "https://upflow.test/v1/customers/x/portal");
        request.Options.Set(UpflowClient.RequestIdOption, requestId ?? Guid.NewGuid());
        context.SetRequestMessage(request);
        return setup.Pipeline.ExecuteAsync((_, _) => answer(Interlocked.Increment(ref attempts)), context, 0);
    }

    [Theory]
    [InlineData(HttpStatusCode.OK, false)]
    [InlineData(HttpStatusCode.NotFound, false)]
    [InlineData(HttpStatusCode.ServiceUnavailable, true)]
    public async Task MessageCancelledWhileTheCallIsOut_CancelsOnlyWhenTheAnswerHoldsNothingToSave(HttpStatusCode status, bool cancelled)
    {
        var time = new FakeTimeProvider();
        var setup = Build(time, new UpflowOptions { MaxRequestsPerSecond = 0, MaxRetryAttempts = 0 });
        using var message = new CancellationTokenSource();
        using var cancellation = new DeferredCancellation(message.Token);
        var context = ResilienceContextPool.Shared.Get(cancellation.Token);
        var request = new HttpRequestMessage(HttpMethod.Post, "https://upflow.test/v1/customers/x/portal");
        request.Options.Set(UpflowClient.RequestIdOption, Guid.NewGuid());
        request.Options.Set(UpflowClient.CancellationOption, cancellation);
        context.SetRequestMessage(request);

        var response = await setup.Pipeline.ExecuteAsync((c, _) =>
        {
            message.Cancel(); // the broker connection drops while Upflow is answering
            Assert.False(c.CancellationToken.IsCancellationRequested);
            return ValueTask.FromResult(Answer(status));
        }, context, 0);

        Assert.Equal(status, response.StatusCode);
        Assert.Equal(cancelled, cancellation.Token.IsCancellationRequested);
    }

    private static async Task WaitFor(Func<bool> condition)
    {
        using var limit = new CancellationTokenSource(Patience);
        while (!condition())
            await Task.Delay(5, limit.Token);
    }

    [Fact]
    public async Task RetryAfterOfAnHour_IsCapped_AndHandsTheMessageBack()
    {
        var time = new FakeTimeProvider();
        var setup = Build(time, new UpflowOptions { MaxRetryAfter = TimeSpan.FromSeconds(30), MaxInMemoryWait = TimeSpan.FromSeconds(10), MaxRequestsPerSecond = 0 });
        var attempts = 0;

        var paused = await Assert.ThrowsAsync<UpflowPausedException>(async () =>
            await Run(setup, n => { attempts = n; return Answer(HttpStatusCode.TooManyRequests, TimeSpan.FromHours(1)); }));

        Assert.Equal(1, attempts);
        Assert.Equal(time.GetUtcNow() + TimeSpan.FromSeconds(30), paused.Until);
    }

    [Fact]
    public async Task ShortRetryAfter_WaitsThatLong_WithoutSpendingTheMessagesRetries()
    {
        var time = new FakeTimeProvider();
        var setup = Build(time, new UpflowOptions { MaxRequestsPerSecond = 0, MaxRetryAttempts = 0 });
        var attempts = 0;
        var run = Run(setup, n =>
        {
            attempts = n;
            return n == 1 ? Answer(HttpStatusCode.TooManyRequests, TimeSpan.FromSeconds(3)) : Answer(HttpStatusCode.OK);
        }).AsTask();

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
    public async Task NonRetryableStatus_IsNotRetried(HttpStatusCode status)
    {
        var attempts = 0;
        var response = await Run(Build(new FakeTimeProvider(), new UpflowOptions { MaxRequestsPerSecond = 0 }), n => { attempts = n; return Answer(status); });
        Assert.Equal(status, response.StatusCode);
        Assert.Equal(1, attempts);
    }

    [Theory]
    [InlineData(HttpStatusCode.Unauthorized)]
    [InlineData(HttpStatusCode.Forbidden)]
    public async Task RefusedCredentials_PauseInsteadOfFailing(HttpStatusCode status)
    {
        var setup = Build(new FakeTimeProvider(), new UpflowOptions { MaxRequestsPerSecond = 0 });
        await Assert.ThrowsAsync<UpflowPausedException>(async () => await Run(setup, _ => Answer(status)));
        Assert.Equal(UpflowPause.Credentials, setup.Availability.Pause);
    }

    [Fact]
    public async Task PersistentServerError_StopsAfterMaxRetryAttempts()
    {
        var time = new FakeTimeProvider();
        var setup = Build(time, new UpflowOptions { MaxRetryAttempts = 3, MaxRequestsPerSecond = 0, TotalTimeout = TimeSpan.FromMinutes(10) });
        var attempts = 0;
        var run = Run(setup, n => { attempts = n; return Answer(HttpStatusCode.BadGateway); }).AsTask();

        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        while (!run.IsCompleted)
        {
            await Task.Delay(5, limit.Token);
            time.Advance(TimeSpan.FromSeconds(1));
        }
        Assert.Equal(HttpStatusCode.BadGateway, (await run).StatusCode);
        Assert.Equal(4, attempts);
        Assert.Equal(UpflowPause.None, setup.Availability.Pause);
    }

    [Fact]
    public async Task FailuresAcrossManyMessages_AreAnOutage_ThenNothingIsCalled()
    {
        var time = new FakeTimeProvider();
        var options = new UpflowOptions { MaxRetryAttempts = 0, MaxRequestsPerSecond = 0, OutageFailureThreshold = 3 };
        var setup = Build(time, options);

        for (var i = 0; i < 3; i++)
            Assert.Equal(HttpStatusCode.ServiceUnavailable, (await Run(setup, _ => Answer(HttpStatusCode.ServiceUnavailable))).StatusCode);

        Assert.Equal(UpflowPause.Outage, setup.Availability.Pause);
        var calls = 0;
        await Assert.ThrowsAsync<UpflowPausedException>(async () => await Run(setup, _ => { calls++; return Answer(HttpStatusCode.OK); }));
        Assert.Equal(0, calls);
    }

    [Fact]
    public async Task OneCustomerFailingRepeatedly_IsNotAnOutage()
    {
        var setup = Build(new FakeTimeProvider(), new UpflowOptions { MaxRetryAttempts = 0, MaxRequestsPerSecond = 0, OutageFailureThreshold = 3 });
        var requestId = Guid.NewGuid();
        for (var i = 0; i < 10; i++)
            await Run(setup, _ => Answer(HttpStatusCode.ServiceUnavailable), requestId);
        Assert.Equal(UpflowPause.None, setup.Availability.Pause);
    }

    [Fact]
    public async Task Outage_HalfOpen_LetsOneQueuedRequestTry_AndItsAnswerResumes()
    {
        var time = new FakeTimeProvider();
        var options = new UpflowOptions { MaxRetryAttempts = 0, MaxRequestsPerSecond = 0, OutageFailureThreshold = 1,
            OutageProbeInterval = TimeSpan.FromSeconds(3) };
        var setup = Build(time, options);
        await Run(setup, _ => Answer(HttpStatusCode.ServiceUnavailable));
        Assert.Equal(UpflowPause.Outage, setup.Availability.Pause);

        // Before the interval: nothing is sent.
        var calls = 0;
        await Assert.ThrowsAsync<UpflowPausedException>(async () => await Run(setup, _ => { calls++; return Answer(HttpStatusCode.OK); }));
        Assert.Equal(0, calls);

        // After it, the first request is the trial and fails again: one call, paused again.
        time.Advance(TimeSpan.FromSeconds(3));
        Assert.True(setup.Availability.IsHalfOpen);
        await Run(setup, _ => { calls++; return Answer(HttpStatusCode.ServiceUnavailable); });
        Assert.Equal(1, calls);
        Assert.False(setup.Availability.IsHalfOpen);
        await Assert.ThrowsAsync<UpflowPausedException>(async () => await Run(setup, _ => { calls++; return Answer(HttpStatusCode.OK); }));
        Assert.Equal(1, calls);

        // The next trial is answered: calls resume for everyone.
        time.Advance(TimeSpan.FromSeconds(3));
        Assert.Equal(HttpStatusCode.OK, (await Run(setup, _ => { calls++; return Answer(HttpStatusCode.OK); })).StatusCode);
        Assert.Equal(UpflowPause.None, setup.Availability.Pause);
        Assert.Equal(HttpStatusCode.OK, (await Run(setup, _ => { calls++; return Answer(HttpStatusCode.OK); })).StatusCode);
        Assert.Equal(3, calls);
    }

    [Fact]
    public async Task RefusedCredentials_HalfOpen_SecondCallerWaitsForTheTrialsVerdict()
    {
        var time = new FakeTimeProvider();
        var setup = Build(time, new UpflowOptions { MaxRequestsPerSecond = 0, CredentialsProbeInterval = TimeSpan.FromSeconds(5) });
        await Assert.ThrowsAsync<UpflowPausedException>(async () => await Run(setup, _ => Answer(HttpStatusCode.Unauthorized)));
        time.Advance(TimeSpan.FromSeconds(5));

        var release = new TaskCompletionSource();
        var calls = 0;
        Func<int, Task<HttpResponseMessage>> slow = async _ => { Interlocked.Increment(ref calls); await release.Task; return Answer(HttpStatusCode.OK); };
        var trial = Run(setup, slow).AsTask();
        await WaitFor(() => calls == 1);
        var second = Run(setup, _ => { Interlocked.Increment(ref calls); return Answer(HttpStatusCode.OK); }).AsTask();
        await Task.Delay(50);
        Assert.Equal(1, calls);
        Assert.False(second.IsCompleted);

        release.SetResult();
        Assert.Equal(HttpStatusCode.OK, (await trial).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await second).StatusCode);
        Assert.Equal(2, calls);
    }
}
