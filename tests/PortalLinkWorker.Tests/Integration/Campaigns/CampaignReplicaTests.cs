using PortalLinkContracts;
using PortalLinkWorker.TestKit;
using Xunit.Abstractions;

namespace PortalLinkWorker.Tests.Integration.Campaigns;

/// <summary>One campaign, two worker processes finishing its items at the same time, and one of them killed and
/// replaced halfway: the completion is published once.</summary>
[Collection(WorkerCollection.Name)]
[Trait("Category", "Integration")]
public sealed class CampaignReplicaTests(WorkerFixture fixture, ITestOutputHelper output) : IAsyncLifetime
{
    private const int Customers = 600;

    public Task InitializeAsync() => fixture.Worker.StopAsync();

    public async Task DisposeAsync()
    {
        await fixture.Simulator.ConfigureAsync(new { latencyMs = 0 });
        // What a failed run leaves of the campaign would only slow the next tests down.
        await RawQueue.PurgeAsync(fixture.RabbitMq, PortalLinkWorker.Links.GeneratePortalLinkBulkConsumerDefinition.QueueName);
        await fixture.Worker.StartAsync();
    }

    [Fact]
    public async Task TwoReplicasAndAKill_CompletionPublishedOnce()
    {
        // Slow enough that every process gets its share: 4 campaign calls in flight per process, 0.1 s each.
        await fixture.Simulator.ConfigureAsync(new { latencyMs = 100 });
        var first = WorkerProcess.Start(fixture.Worker.Settings);
        await using var second = WorkerProcess.Start(fixture.Worker.Settings);
        ChildProcess? third = null;
        try
        {
            var start = new StartPortalLinkCampaign(Guid.NewGuid(), "replicas",
                Enumerable.Range(0, Customers).Select(i => $"external:replica-{i}-{Guid.NewGuid():N}").ToArray());
            await fixture.Observer.Bus.Publish(start);

            await Eventually.TrueAsync(async () => Convert.ToInt32(await fixture.Database.ScalarAsync(
                "SELECT coalesce(generated_count, 0) FROM portal_link_campaigns WHERE campaign_id = @c", ("c", start.CampaignId))) >= Customers / 3);
            await first.KillAsync();
            third = WorkerProcess.Start(fixture.Worker.Settings);

            var completed = Assert.Single(await fixture.Observer.WaitForCompletionsAsync(start.CampaignId, patience: TimeSpan.FromMinutes(2))).Event;
            // A later start, handled by one of the replicas: by the time its completion arrives, a duplicate of the first
            // one would have too (each replica also swept for unpublished completions at its start and every second).
            var sentinel = new StartPortalLinkCampaign(Guid.NewGuid(), "sentinel", []);
            await fixture.Observer.Bus.Publish(sentinel);
            await fixture.Observer.WaitForCompletionsAsync(sentinel.CampaignId);

            Assert.Equal((Customers, Customers, 0), (completed.Total, completed.Generated, completed.Failed));
            Assert.Single(fixture.Observer.CompletionsOf(start.CampaignId));
            Assert.Contains("Portal link generated", first.Output);
            Assert.Contains("Portal link generated", second.Output);
            Assert.Contains("Portal link generated", third.Output);
            Assert.Equal(Customers, Convert.ToInt32(await fixture.Database.ScalarAsync(
                "SELECT count(*) FROM portal_links WHERE campaign_id = @c AND status = 'generated'", ("c", start.CampaignId))));
            output.WriteLine($"completed at {completed.CompletedAt:O}");
        }
        finally
        {
            foreach (var line in second.Output.Split('\n').Where(l => l.Contains(" WRN]") || l.Contains(" ERR]")).Take(40))
                output.WriteLine(line);
            await first.DisposeAsync();
            if (third is not null)
                await third.DisposeAsync();
        }
    }
}
