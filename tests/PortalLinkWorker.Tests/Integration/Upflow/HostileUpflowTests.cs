using PortalLinkContracts;
using PortalLinkWorker.Tests.Upflow;
using Answer = PortalLinkWorker.Tests.Upflow.HostileUpflow.Answer;

namespace PortalLinkWorker.Tests.Integration.Upflow;

/// <summary>The worker, wired as in production on the real broker and database, pointed at a hostile "Upflow": what it
/// stores and publishes carries no foreign URL, the credentials go nowhere else, and a stalled answer holds no one up.</summary>
[Collection(WorkerCollection.Name)]
[Trait("Category", "Integration")]
public sealed class HostileUpflowTests(WorkerFixture fixture) : IAsyncLifetime
{
    private HostileUpflow? _upflow;

    private HostileUpflow Upflow => _upflow ?? throw new InvalidOperationException("not started");

    public async Task InitializeAsync()
    {
        _upflow = await HostileUpflow.StartAsync(Answer.GoodUrl);
        await fixture.Worker.StopAsync();
        await fixture.Worker.StartAsync(new Dictionary<string, string>
        {
            ["Upflow:BaseUrl"] = Upflow.BaseUrl.AbsoluteUri,
            ["Upflow:UnreadableAnswerProbeInterval"] = "00:00:00.500",
        });
    }

    public async Task DisposeAsync()
    {
        await fixture.Worker.StopAsync();
        await fixture.Worker.StartAsync();
        await Upflow.DisposeAsync();
    }

    [Theory]
    [InlineData(Answer.Redirect307ToOtherHost, PortalLinkFailureReason.Rejected)]
    public async Task HostileAnswer_FailsWithNoForeignUrlStoredOrPublished(Answer answer, string reason)
    {
        Upflow.Mode = answer;
        var request = new GeneratePortalLink(Guid.NewGuid(), $"external:hostile-{Guid.NewGuid():N}");

        await fixture.Observer.Bus.Publish(request);

        var failed = await fixture.Observer.OutcomeAsync<PortalLinkFailed>(request.RequestId);
        Assert.Equal(reason, failed.Reason);
        Assert.DoesNotContain(HostileUpflow.Token, failed.Message);
        Assert.DoesNotContain(Upflow.EvilUrl.Authority, failed.Message);
        Assert.Single(fixture.Observer.OutcomesOf(request.RequestId));
        var row = (await fixture.Database.RowAsync(request.RequestId))!;
        Assert.Equal("failed", row.Status);
        Assert.Null(row.Url);
        Assert.Equal(0, Upflow.EvilRequests);
        Assert.Equal(1, Upflow.UpflowRequests);
    }

    [Fact]
    public async Task ForeignHostUrl_PausesWithNothingStoredOrPublished_ThenAGoodAnswerGenerates()
    {
        // A URL on a host outside Upflow:PortalHosts is never stored or published; the same would come for every
        // request, so calls pause (one queued request per Upflow:UnreadableAnswerProbeInterval) instead of failing.
        Upflow.Mode = Answer.ForeignHostUrl;
        var request = new GeneratePortalLink(Guid.NewGuid(), $"external:hostile-{Guid.NewGuid():N}");

        await fixture.Observer.Bus.Publish(request);
        await Eventually.TrueAsync(() => Upflow.UpflowRequests >= 1);
        await Task.Delay(TimeSpan.FromSeconds(1));
        Assert.Empty(fixture.Observer.OutcomesOf(request.RequestId));
        var row = (await fixture.Database.RowAsync(request.RequestId))!;
        Assert.Equal("pending", row.Status);
        Assert.Null(row.Url);

        Upflow.Mode = Answer.GoodUrl;
        var generated = await fixture.Observer.OutcomeAsync<PortalLinkGenerated>(request.RequestId);
        Assert.Equal($"https://{HostileUpflow.PortalHost}/p/{HostileUpflow.Token}", generated.Url);
        Assert.Single(fixture.Observer.OutcomesOf(request.RequestId));
        Assert.Equal(0, Upflow.EvilRequests);
    }

    [Fact]
    public async Task StalledAnswer_EndsWithEachAttempt_WhileTheRequestsBehindItAreServed()
    {
        var slow = new GeneratePortalLink(Guid.NewGuid(), $"external:{HostileUpflow.SlowCustomerMarker}-{Guid.NewGuid():N}");
        var behind = Enumerable.Range(0, 10).Select(i => new GeneratePortalLink(Guid.NewGuid(), $"external:behind-{i}-{Guid.NewGuid():N}")).ToList();

        await fixture.Observer.Bus.Publish(slow);
        await Task.WhenAll(behind.Select(r => fixture.Observer.Bus.Publish(r)));

        foreach (var request in behind)
        {
            var generated = await fixture.Observer.OutcomeAsync<PortalLinkGenerated>(request.RequestId);
            Assert.Equal($"https://{HostileUpflow.PortalHost}/p/{HostileUpflow.Token}", generated.Url);
        }
        // Every attempt at the stalled answer was cut by the attempt timeout and retried; with the others answered, the
        // stalled customer fails on its own (an outage would have paused everyone instead).
        var failed = await fixture.Observer.OutcomeAsync<PortalLinkFailed>(slow.RequestId);
        Assert.Equal(PortalLinkFailureReason.UpflowUnavailable, failed.Reason);
        Assert.Contains("timed out", failed.Message);
        await Eventually.TrueAsync(() => Upflow.AbortedAnswers == WorkerFixture.MaxRetryAttempts + 1);
        Assert.DoesNotContain(fixture.Observer.Faults, f => f.Message.RequestId == slow.RequestId);
    }
}
