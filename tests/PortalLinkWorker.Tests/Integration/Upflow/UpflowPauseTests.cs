using PortalLinkContracts;

namespace PortalLinkWorker.Tests.Integration.Upflow;

/// <summary>When the trouble is Upflow's or the configuration's, not the message's: nothing fails, consumption pauses,
/// and it resumes by itself.</summary>
[Collection(WorkerCollection.Name)]
[Trait("Category", "Integration")]
public sealed class UpflowPauseTests(WorkerFixture fixture)
{
    private static GeneratePortalLink Request(string prefix) => new(Guid.NewGuid(), $"external:{prefix}-{Guid.NewGuid():N}");

    [Fact]
    public async Task SlowUpflowForEveryone_TimeoutsPauseInsteadOfFailing_ThenComplete()
    {
        // Every call times out (attempt timeout 1 s): that is an outage, not a cancellation and not a failed link.
        await fixture.Simulator.ConfigureAsync(new { slowRate = 1.0, slowMs = 5_000 });
        var request = Request("slow");
        try
        {
            await fixture.Observer.Bus.Publish(request);
            await Eventually.TrueAsync(async () => (await fixture.Simulator.CallsAsync(request.CustomerId)).Count >= 2);
        }
        finally
        {
            await fixture.Simulator.ConfigureAsync(new { slowRate = 0.0 });
        }

        var generated = await fixture.Observer.OutcomeAsync<PortalLinkGenerated>(request.RequestId);
        Assert.Equal(request.CustomerId, generated.CustomerId);
        Assert.Single(fixture.Observer.OutcomesOf(request.RequestId));
        Assert.DoesNotContain(fixture.Observer.Faults, f => f.Message.RequestId == request.RequestId);
    }

    [Fact]
    public async Task OutageAcrossMessages_NothingFails_ConsumptionResumesWhenUpflowIsBack()
    {
        var testStarted = DateTimeOffset.UtcNow;
        await fixture.Simulator.ConfigureAsync(new { errorRate = 1.0 });
        var requests = Enumerable.Range(0, 20).Select(_ => Request("outage")).ToList();
        try
        {
            await Task.WhenAll(requests.Select(r => fixture.Observer.Bus.Publish(r)));
            // Let the outage be seen and last a few probe intervals.
            await Eventually.TrueAsync(async () => (await fixture.Simulator.CallsAsync()).Count(c => c.CustomerId.StartsWith("external:outage-")) >= 5);
            await Task.Delay(TimeSpan.FromSeconds(1));
            var before = await OutageCallsAsync();
            await Task.Delay(TimeSpan.FromSeconds(3));
            Assert.All(requests, r => Assert.Empty(fixture.Observer.OutcomesOf(r.RequestId)));
            // While paused, one real queued request tries per probe interval (0.5 s here), and nothing else.
            Assert.InRange(await OutageCallsAsync() - before, 1, 3 / 0.5 + 1);
            Assert.DoesNotContain(await fixture.Simulator.CallsAsync(), c => c.At >= testStarted && c.CustomerId.Contains("probe", StringComparison.Ordinal));
        }
        finally
        {
            await fixture.Simulator.ConfigureAsync(new { errorRate = 0.0 });
        }

        await fixture.Observer.ExpectGeneratedAsync(requests);

        async Task<int> OutageCallsAsync() =>
            (await fixture.Simulator.CallsAsync()).Count(c => c.CustomerId.StartsWith("external:outage-", StringComparison.Ordinal));
    }

    [Fact]
    public async Task RefusedCredentials_NoLinkFails_ResumesWhenTheKeyWorksAgain()
    {
        var testStarted = DateTimeOffset.UtcNow;
        await fixture.Simulator.ConfigureAsync(new { apiSecret = "rotated-secret" });
        var request = Request("credentials");
        try
        {
            await fixture.Observer.Bus.Publish(request);
            await Eventually.TrueAsync(async () => (await fixture.Simulator.CallsAsync(request.CustomerId)).Any(c => c.Status == 401));
            await Task.Delay(TimeSpan.FromSeconds(2));
            Assert.Empty(fixture.Observer.OutcomesOf(request.RequestId));
            Assert.Equal("pending", (await fixture.Database.RowAsync(request.RequestId))!.Status);
            Assert.DoesNotContain(await fixture.Simulator.CallsAsync(), c => c.At >= testStarted && c.CustomerId.Contains("probe", StringComparison.Ordinal));
        }
        finally
        {
            await fixture.Simulator.ConfigureAsync(new { apiSecret = WorkerFixture.ApiSecret });
        }

        await fixture.Observer.OutcomeAsync<PortalLinkGenerated>(request.RequestId);
    }

    [Fact]
    public async Task RateLimited_429sAreWaitedOut_NothingFails()
    {
        // The simulator allows 5 calls a second; the fixture's worker has no limit of its own and learns from the 429s.
        await fixture.Simulator.ConfigureAsync(new { rateLimitPerSecond = 5.0 });
        var requests = Enumerable.Range(0, 30).Select(_ => Request("throttled")).ToList();
        try
        {
            await Task.WhenAll(requests.Select(r => fixture.Observer.Bus.Publish(r)));
            await fixture.Observer.ExpectGeneratedAsync(requests);
        }
        finally
        {
            await fixture.Simulator.ConfigureAsync(new { rateLimitPerSecond = 0.0 });
        }
        var calls = (await fixture.Simulator.CallsAsync()).Where(c => c.CustomerId.StartsWith("external:throttled-")).ToList();
        Assert.Contains(calls, c => c.Status == 429);
        Assert.Equal(30, calls.Count(c => c.Status == 200));
    }

    [Fact]
    public async Task RetryAfterLongerThanAMessageMayWait_MessagesGoBackToTheQueue_ConsumptionResumesAtTheReset()
    {
        // One call per 5 s: the simulator's Retry-After (5 s) is longer than the fixture's MaxInMemoryWait (2 s).
        await fixture.Simulator.ConfigureAsync(new { rateLimitPerSecond = 0.2 });
        var requests = Enumerable.Range(0, 3).Select(_ => Request("long-retry-after")).ToList();
        try
        {
            await Task.WhenAll(requests.Select(r => fixture.Observer.Bus.Publish(r)));
            await fixture.Observer.ExpectGeneratedAsync(requests);
        }
        finally
        {
            await fixture.Simulator.ConfigureAsync(new { rateLimitPerSecond = 0.0 });
        }
        var calls = (await fixture.Simulator.CallsAsync()).Where(c => c.CustomerId.StartsWith("external:long-retry-after-")).ToList();
        Assert.Equal(3, calls.Count(c => c.Status == 200));
        // The pause is shared: after the first 429 nobody calls again before the reset, so 429s stay few.
        Assert.InRange(calls.Count(c => c.Status == 429), 1, 6);
        Assert.All(requests, r => Assert.Single(fixture.Observer.OutcomesOf(r.RequestId)));
    }
}
