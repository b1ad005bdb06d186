using PortalLinkWorker.Messaging;
using System.Text;
using MassTransit;
using PortalLinkContracts;
using PortalLinkWorker.Campaigns;
using PortalLinkWorker.Hosting;
using PortalLinkWorker.Input;
using PortalLinkWorker.TestKit;

namespace PortalLinkWorker.Tests.Integration.Campaigns;

/// <summary>Campaign starts a publisher can get wrong: each is refused whole with its reason in the error queue (or, for
/// an id that is merely invalid, started with that item failed), nothing is left "running", no Upflow call is made for
/// them, and the next start goes through.</summary>
[Collection(WorkerCollection.Name)]
[Trait("Category", "Integration")]
public sealed class CampaignBadInputTests(WorkerFixture fixture)
{
    private const string Queue = StartPortalLinkCampaignConsumerDefinition.QueueName;
    private const string Json = "application/json";

    public static TheoryData<string, Func<Guid, string>, string> Refused() => new()
    {
        { "no CampaignId", _ => """{"name":"no id","customerIds":["external:1"]}""", "CampaignId is missing" },
        { "NUL in one customer id", id => $$"""{"campaignId":"{{id}}","name":"nul","customerIds":["external:ok","external:a\u0000b"]}""", "CustomerIds[1]" },
        { "NUL in the name", id => $$"""{"campaignId":"{{id}}","name":"a\u0000b","customerIds":["external:1"]}""", "Name contains" },
        { "CR/LF in the name (a forged log line)", id => $$"""{"campaignId":"{{id}}","name":"a\r\n12:00:00 INF Portal link generated","customerIds":["external:1"]}""", "Name contains" },
        { "U+2028 in the name", id => $$"""{"campaignId":"{{id}}","name":"a\u2028b","customerIds":["external:1"]}""", "Name contains" },
        { "10,001 customer ids", id => $$"""{"campaignId":"{{id}}","name":"big","customerIds":[{{string.Join(",", Enumerable.Range(0, CampaignOptions.MinCustomerIdsPerMessage + 1).Select(i => $"\"external:big-{i}\""))}}]}""", "at most 10,000" },
        { "over Campaigns:MaxMessageSize", id => $$"""{"campaignId":"{{id}}","name":"huge","customerIds":["external:{{new string('x', CampaignOptions.DefaultMaxMessageSize)}}"]}""", "bytes" },
        { "lone surrogate in the name (unreadable)", id => $$"""{"campaignId":"{{id}}","name":"a\ud800","customerIds":["external:1"]}""", "" },
    };

    [Theory]
    [MemberData(nameof(Refused))]
    public async Task BadStart_ErrorQueueWithReason_NothingRecorded_NextStartGoesThrough(string kind, Func<Guid, string> body, string reason)
    {
        var campaignId = Guid.NewGuid();
        var callsBefore = (await fixture.Simulator.CallsAsync()).Count;
        var errorsBefore = await RawQueue.DepthAsync(fixture.RabbitMq, Queue + "_error");

        await RawQueue.PublishAsync(fixture.RabbitMq, Queue, Encoding.UTF8.GetBytes(body(campaignId)), Json);
        var sentinel = new StartPortalLinkCampaign(Guid.NewGuid(), "sentinel", [$"external:sentinel-{Guid.NewGuid():N}"]);
        await fixture.Observer.Bus.Publish(sentinel);
        await fixture.Observer.WaitForCompletionsAsync(sentinel.CampaignId);

        await Eventually.TrueAsync(async () => await RawQueue.DepthAsync(fixture.RabbitMq, Queue + "_error") > errorsBefore);
        var fault = (await RawQueue.PeekHeadersAsync(fixture.RabbitMq, Queue + "_error"))[^1]["MT-Fault-Message"];
        var shown = fault is byte[] bytes ? Encoding.UTF8.GetString(bytes) : fault?.ToString() ?? "";
        Assert.Contains(reason, shown);
        Assert.True(shown.Length <= 1_000, kind);
        Assert.Null(UntrustedText.FindUnsafe(shown));
        // Never recorded, so never shown as running.
        Assert.Null(await fixture.Database.ScalarAsync("SELECT name FROM portal_link_campaigns WHERE campaign_id = @c", ("c", campaignId)));
        Assert.Empty(fixture.Observer.CompletionsOf(campaignId));
        Assert.Equal(callsBefore + 1, (await fixture.Simulator.CallsAsync()).Count);
    }

    [Fact]
    public async Task StartWithoutCampaignId_PublisherSeesTheFault_WithTheReason_ErrorQueueKeepsIt()
    {
        // A publisher's own bus: the fault of a start it published comes back to whoever subscribes to Fault<T>.
        var faults = new TaskCompletionSource<Fault<StartPortalLinkCampaign>>(TaskCreationOptions.RunContinuationsAsynchronously);
        var marker = $"no id {Guid.NewGuid():N}";
        var publisher = Bus.Factory.CreateUsingRabbitMq(rabbit =>
        {
            RabbitMqAddress.TryParse(fixture.RabbitMq)!.ApplyTo(rabbit);
            rabbit.ReceiveEndpoint(new TemporaryEndpointDefinition(), endpoint => endpoint.Handler<Fault<StartPortalLinkCampaign>>(c =>
            {
                if (c.Message.Message.Name == marker)
                    faults.TrySetResult(c.Message);
                return Task.CompletedTask;
            }));
        });
        await publisher.StartAsync();
        try
        {
            var errorsBefore = await RawQueue.DepthAsync(fixture.RabbitMq, Queue + "_error");

            await publisher.Publish(new StartPortalLinkCampaign(Guid.Empty, marker, ["external:1"]));

            var fault = await faults.Task.WaitAsync(TimeSpan.FromSeconds(60));
            Assert.Contains("CampaignId is missing", Assert.Single(fault.Exceptions).Message);
            Assert.Equal(nameof(CampaignRefusedException), fault.Exceptions[0].ExceptionType.Split('.')[^1]);
            // Refused at once: no retry can give it an id.
            await Eventually.TrueAsync(async () => await RawQueue.DepthAsync(fixture.RabbitMq, Queue + "_error") == errorsBefore + 1);
            Assert.Null(await fixture.Database.ScalarAsync("SELECT campaign_id FROM portal_link_campaigns WHERE name = @n", ("n", marker)));
        }
        finally
        {
            await publisher.StopAsync();
        }
    }

    [Theory]
    [InlineData("external:a\r\nb")]
    [InlineData("external:a\u2028b")]
    [InlineData("external:\u202Eevil")]
    public async Task UnsafeCustomerId_ItemFailsInvalidRequest_CampaignCompletes(string badId)
    {
        var good = $"external:ok-{Guid.NewGuid():N}";
        var start = new StartPortalLinkCampaign(Guid.NewGuid(), "unsafe id", [good, badId]);

        await fixture.Observer.Bus.Publish(start);
        var completed = Assert.Single(await fixture.Observer.WaitForCompletionsAsync(start.CampaignId)).Event;

        Assert.Equal((2, 1, 1), (completed.Total, completed.Generated, completed.Failed));
        Assert.Empty(await fixture.Simulator.CallsAsync(badId));
    }
}
