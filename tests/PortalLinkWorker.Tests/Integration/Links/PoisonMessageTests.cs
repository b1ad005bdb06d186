using PortalLinkContracts;
using PortalLinkWorker.Cli;
using PortalLinkWorker.Links;
using PortalLinkWorker.TestKit;

namespace PortalLinkWorker.Tests.Integration.Links;

/// <summary>A message that fails in our own code (here: the database refuses its row) is retried a few times, set aside
/// in the error queue with its exception, does not block the messages behind it, and goes back for another try with
/// <c>PortalLinkWorker redeliver-errors</c> once the cause is fixed.</summary>
[Collection(WorkerCollection.Name)]
[Trait("Category", "Fault")]
public sealed class PoisonMessageTests(WorkerFixture fixture)
{
    private const string ErrorQueue = GeneratePortalLinkConsumerDefinition.QueueName + "_error";

    [Fact]
    public async Task FailingMessage_SetAsideWithItsException_OthersFlow_RedeliveredAfterTheFix()
    {
        await RawQueue.PurgeAsync(fixture.RabbitMq, ErrorQueue);
        await fixture.Database.ExecuteAsync("""
            CREATE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              IF NEW.customer_id LIKE 'external:poison-%' THEN RAISE EXCEPTION 'simulated bug: refusing %', NEW.customer_id; END IF;
              RETURN NEW;
            END $$;
            CREATE TRIGGER refuse_poison BEFORE INSERT ON portal_links FOR EACH ROW EXECUTE FUNCTION refuse_poison();
            """);
        var poison = new GeneratePortalLink(Guid.NewGuid(), $"external:poison-{Guid.NewGuid():N}");
        var behind = Enumerable.Range(0, 5).Select(_ => new GeneratePortalLink(Guid.NewGuid(), $"external:behind-{Guid.NewGuid():N}")).ToList();
        try
        {
            await fixture.Observer.Bus.Publish(poison);
            foreach (var request in behind)
                await fixture.Observer.Bus.Publish(request);

            foreach (var request in behind)
                await fixture.Observer.OutcomeAsync<PortalLinkGenerated>(request.RequestId);
            await Eventually.TrueAsync(async () => await RawQueue.DepthAsync(fixture.RabbitMq, ErrorQueue) == 1);
            var headers = Assert.Single(await RawQueue.PeekHeadersAsync(fixture.RabbitMq, ErrorQueue));
            Assert.Contains("simulated bug", System.Text.Encoding.UTF8.GetString((byte[])headers["MT-Fault-Message"]!));
            var everyHeader = string.Join('\n', headers.Values.Select(v => v is byte[] bytes ? System.Text.Encoding.UTF8.GetString(bytes) : v?.ToString()));
            Assert.DoesNotContain(WorkerFixture.ApiSecret, everyHeader);
            Assert.DoesNotContain("portal.upflow-simulator.invalid/p/", everyHeader);
            Assert.Contains(fixture.Observer.Faults, f => f.Message.RequestId == poison.RequestId);
            Assert.Empty(fixture.Observer.OutcomesOf(poison.RequestId));
        }
        finally
        {
            await fixture.Database.ExecuteAsync("DROP TRIGGER refuse_poison ON portal_links; DROP FUNCTION refuse_poison();");
        }

        Assert.Equal(1, await RedeliverErrorsCommand.MoveAsync(new Uri(fixture.RabbitMq), int.MaxValue, CancellationToken.None));
        await fixture.Observer.OutcomeAsync<PortalLinkGenerated>(poison.RequestId);
        Assert.Equal(0u, await RawQueue.DepthAsync(fixture.RabbitMq, ErrorQueue));
    }
}
