using MassTransit;
using Microsoft.Extensions.Hosting;
using PortalLinkContracts;
using PortalLinkWorker.Campaigns;
using PortalLinkWorker.Cli;
using PortalLinkWorker.Hosting;
using Xunit.Abstractions;
using PortalLinkWorker.Persistence;

namespace PortalLinkWorker.Tests.Integration.Campaigns;

/// <summary>Campaigns end to end on the real RabbitMQ, PostgreSQL and simulator: idempotent starts (message, command,
/// interrupted start), counts, completion once, retry of the failures.</summary>
[Collection(WorkerCollection.Name)]
[Trait("Category", "Integration")]
public sealed class CampaignTests(WorkerFixture fixture, ITestOutputHelper output)
{
    private static string[] Customers(string tag, int count) =>
        Enumerable.Range(0, count).Select(i => $"external:{tag}-{i}-{Guid.NewGuid():N}").ToArray();

    /// <summary>Upflow calls per customer, for the customers of this test.</summary>
    private async Task<Dictionary<string, int>> CallsByCustomerAsync(IEnumerable<string> customers)
    {
        var wanted = customers.ToHashSet();
        return (await fixture.Simulator.CallsAsync()).Where(c => wanted.Contains(c.CustomerId))
            .GroupBy(c => c.CustomerId).ToDictionary(g => g.Key, g => g.Count());
    }

    private async Task<int> CountAsync(string sql, Guid campaignId) =>
        Convert.ToInt32(await fixture.Database.ScalarAsync(sql, ("c", campaignId)));

    /// <summary>A start of an empty campaign, queued behind everything sent to the start queue before it: when its
    /// completion arrives, the worker has handled the starts before it.</summary>
    private async Task SentinelStartAsync()
    {
        var sentinel = new StartPortalLinkCampaign(Guid.NewGuid(), "sentinel", []);
        await fixture.Observer.Bus.Publish(sentinel);
        await fixture.Observer.WaitForCompletionsAsync(sentinel.CampaignId);
    }

    [Fact]
    public async Task StartMessageTwice_EachCustomerOnce_OneCompletion()
    {
        var customers = Customers("twice", 60);
        var start = new StartPortalLinkCampaign(Guid.NewGuid(), "twice", customers, 3600, "a.example");

        await fixture.Observer.Bus.Publish(start);
        await fixture.Observer.Bus.Publish(start);
        var completed = Assert.Single(await fixture.Observer.WaitForCompletionsAsync(start.CampaignId));
        // And once more after it completed; the sentinel shows the worker has handled it.
        await fixture.Observer.Bus.Publish(start);
        await SentinelStartAsync();

        Assert.Equal(new PortalLinkCampaignCompleted(start.CampaignId, "twice", 60, 60, 0, completed.Event.CompletedAt), completed.Event);
        Assert.Equal(CampaignCompletion.MessageId(start.CampaignId, 1), completed.MessageId);
        Assert.Single(fixture.Observer.CompletionsOf(start.CampaignId));
        var calls = await CallsByCustomerAsync(customers);
        Assert.Equal(customers.Order(), calls.Keys.Order());
        Assert.All(calls.Values, count => Assert.Equal(1, count));
        Assert.Equal(60, await CountAsync("SELECT count(*) FROM portal_link_campaign_items WHERE campaign_id = @c", start.CampaignId));
        Assert.Equal(60, await CountAsync("SELECT count(*) FROM portal_links WHERE campaign_id = @c AND status = 'generated' AND expires_in = 3600 AND frame_ancestors = 'a.example'", start.CampaignId));
    }

    [Fact]
    public async Task StartMessage_InvalidCustomerIds_CountAsFailed()
    {
        var start = new StartPortalLinkCampaign(Guid.NewGuid(), "mixed", ["external:ok-" + Guid.NewGuid().ToString("N"), "not an id", ""]);

        await fixture.Observer.Bus.Publish(start);
        var completed = Assert.Single(await fixture.Observer.WaitForCompletionsAsync(start.CampaignId)).Event;

        Assert.Equal((3, 1, 2), (completed.Total, completed.Generated, completed.Failed));
        Assert.Equal(2, await CountAsync("SELECT count(*) FROM portal_links WHERE campaign_id = @c AND failure_reason = 'InvalidRequest'", start.CampaignId));
    }

    [Fact]
    public async Task StartCommandTwice_NotDoubled()
    {
        var customers = Customers("cli", 40);
        var file = await CsvAsync(customers);
        var campaignId = Guid.NewGuid();
        string[] args = ["start", "--file", file, "--name", "cli twice", "--campaign-id", campaignId.ToString(), "--expires-in", "600", .. fixture.Worker.CommandSettings];

        Assert.Equal(0, await CampaignCommand.RunAsync(args, new StringWriter()));
        var second = new StringWriter();
        Assert.Equal(0, await CampaignCommand.RunAsync(args, second));
        output.WriteLine(second.ToString());
        await fixture.Observer.WaitForCompletionsAsync(campaignId);
        Assert.Equal(0, await CampaignCommand.RunAsync(args, new StringWriter()));
        await SentinelStartAsync();

        Assert.Contains("already recorded", second.ToString());
        var completed = Assert.Single(fixture.Observer.CompletionsOf(campaignId)).Event;
        Assert.Equal(("cli twice", 40, 40, 0), (completed.Name, completed.Total, completed.Generated, completed.Failed));
        Assert.All((await CallsByCustomerAsync(customers)).Values, count => Assert.Equal(1, count));
        Assert.Equal(40, (await CallsByCustomerAsync(customers)).Count);
    }

    [Fact]
    public async Task StartCommand_BadRows_AllReported_NothingRecorded()
    {
        var file = Path.Combine(Path.GetTempPath(), $"campaign-bad-{Guid.NewGuid():N}.csv");
        await File.WriteAllTextAsync(file, "customer_id,expires_in\nexternal:good,\nbad id,\nexternal:x,0\n");
        var campaignId = Guid.NewGuid();
        var error = new StringWriter();
        var originalError = Console.Error;
        Console.SetError(error);
        int exit;
        try
        {
            exit = await CampaignCommand.RunAsync(["start", "--file", file, "--campaign-id", campaignId.ToString(), .. fixture.Worker.CommandSettings], new StringWriter());
        }
        finally
        {
            Console.SetError(originalError);
        }

        Assert.Equal(65, exit);
        Assert.Contains($"{file}:3:", error.ToString());
        Assert.Contains($"{file}:4:", error.ToString());
        Assert.Contains("2 bad row(s)", error.ToString());
        Assert.Equal(0, await CountAsync("SELECT count(*) FROM portal_link_campaigns WHERE campaign_id = @c", campaignId));
    }

    [Fact]
    public async Task InterruptedStart_RunAgain_EachCustomerEnqueuedOnce()
    {
        var customers = Customers("interrupted", 50);
        var campaign = new CampaignDefinition(Guid.NewGuid(), "interrupted", null, null);
        IEnumerable<CampaignEntry> Entries() => customers.Select((c, i) => new CampaignEntry(i + 1, c, null, null));
        using var host = CommandHost(batchSize: 10);

        // Killed after the second batch was confirmed on the queue: 20 sent, 30 recorded but never sent.
        using (var interrupt = new CancellationTokenSource())
        {
            await using var scope = host.Services.CreateAsyncScope();
            var starter = scope.ServiceProvider.GetRequiredService<CampaignStarter>();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => starter.StartAsync(campaign, Entries(), fixture.Observer.Bus, fixture.Observer.Bus,
                enqueued =>
                {
                    if (enqueued >= 20)
                        interrupt.Cancel();
                }, interrupt.Token));
        }
        Assert.Equal(30, await CountAsync("SELECT count(*) FROM portal_link_campaign_items WHERE campaign_id = @c AND NOT enqueued", campaign.CampaignId));
        Assert.Null(await fixture.Database.ScalarAsync("SELECT enqueued_at FROM portal_link_campaigns WHERE campaign_id = @c", ("c", campaign.CampaignId)));

        await using (var scope = host.Services.CreateAsyncScope())
        {
            var result = await scope.ServiceProvider.GetRequiredService<CampaignStarter>()
                .StartAsync(campaign, Entries(), fixture.Observer.Bus, fixture.Observer.Bus, null, CancellationToken.None);
            Assert.Equal(new CampaignStartResult(false, 0, 30), result);
        }
        var completed = Assert.Single(await fixture.Observer.WaitForCompletionsAsync(campaign.CampaignId)).Event;

        Assert.Equal((50, 50, 0), (completed.Total, completed.Generated, completed.Failed));
        var calls = await CallsByCustomerAsync(customers);
        Assert.Equal(50, calls.Count);
        Assert.All(calls.Values, count => Assert.Equal(1, count));
    }

    [Fact]
    public async Task RetryFailed_NewRequestIds_CountsStayRight_SecondCompletion()
    {
        var good = Customers("retry-ok", 5);
        // Unknown to the simulator (404 → CustomerNotFound) until the test makes them known.
        var unknown = Enumerable.Range(0, 3).Select(i => $"external:unknown-retry-{i}-{Guid.NewGuid():N}").ToArray();
        var start = new StartPortalLinkCampaign(Guid.NewGuid(), "retry", [.. good, .. unknown]);
        try
        {
            await fixture.Observer.Bus.Publish(start);
            var first = Assert.Single(await fixture.Observer.WaitForCompletionsAsync(start.CampaignId)).Event;
            Assert.Equal((8, 5, 3), (first.Total, first.Generated, first.Failed));
            var failedRequests = await CountAsync("SELECT count(*) FROM portal_links WHERE campaign_id = @c AND failure_reason = 'CustomerNotFound'", start.CampaignId);
            Assert.Equal(3, failedRequests);

            await fixture.Simulator.ConfigureAsync(new { unknownCustomerPrefixes = new[] { "external:nobody-at-all" } });
            var retry = new StringWriter();
            Assert.Equal(0, await CampaignCommand.RunAsync(["retry-failed", start.CampaignId.ToString(), .. fixture.Worker.CommandSettings], retry));
            Assert.Contains("3 failed item(s) retried", retry.ToString());
            var completions = await fixture.Observer.WaitForCompletionsAsync(start.CampaignId, 2);

            Assert.Equal((8, 8, 0), (completions[1].Event.Total, completions[1].Event.Generated, completions[1].Event.Failed));
            Assert.Equal(CampaignCompletion.MessageId(start.CampaignId, 2), completions[1].MessageId);
            // The first attempts stay as they were; the retries are new requests of the same campaign.
            Assert.Equal(11, await CountAsync("SELECT count(*) FROM portal_links WHERE campaign_id = @c", start.CampaignId));
            Assert.Equal(3, await CountAsync("SELECT count(*) FROM portal_link_campaign_items i JOIN portal_links l ON l.request_id = i.request_id WHERE i.campaign_id = @c AND i.attempt = 1 AND l.status = 'generated'", start.CampaignId));
            Assert.All((await CallsByCustomerAsync(unknown)).Values, count => Assert.Equal(2, count));

            // Nothing failed is left: a second retry changes nothing and completes nothing.
            Assert.Equal(0, await CampaignCommand.RunAsync(["retry-failed", start.CampaignId.ToString(), .. fixture.Worker.CommandSettings], new StringWriter()));
            await SentinelStartAsync();
            Assert.Equal(2, fixture.Observer.CompletionsOf(start.CampaignId).Count);
        }
        finally
        {
            await fixture.Simulator.ConfigureAsync(new { unknownCustomerPrefixes = new[] { "external:unknown", "00000000-" } });
        }
    }

    [Fact]
    public async Task CompletedButNotPublished_TheSweepPublishesIt()
    {
        // The state a worker leaves when it dies between completing a campaign and publishing the event.
        var campaignId = Guid.NewGuid();
        await fixture.Database.ExecuteAsync("""
            INSERT INTO portal_link_campaigns (campaign_id, name, total, pending_count, generated_count, failed_count, run,
                recorded_at, enqueued_at, completed_at, created_at, updated_at)
            VALUES (@c, 'crashed', 2, 0, 1, 1, 1, now(), now(), now() - interval '1 minute', now(), now())
            """, ("c", campaignId));

        var completed = Assert.Single(await fixture.Observer.WaitForCompletionsAsync(campaignId)).Event;

        Assert.Equal(("crashed", 2, 1, 1), (completed.Name, completed.Total, completed.Generated, completed.Failed));
        Assert.NotNull(await fixture.Database.ScalarAsync("SELECT completion_published_at FROM portal_link_campaigns WHERE campaign_id = @c", ("c", campaignId)));
        await SentinelStartAsync();
        Assert.Single(fixture.Observer.CompletionsOf(campaignId));
    }

    [Fact]
    public async Task StatusCommand_ShowsCounts()
    {
        var start = new StartPortalLinkCampaign(Guid.NewGuid(), "status", Customers("status", 4));
        await fixture.Observer.Bus.Publish(start);
        await fixture.Observer.WaitForCompletionsAsync(start.CampaignId);
        var status = new StringWriter();

        Assert.Equal(0, await CampaignCommand.RunAsync(["status", start.CampaignId.ToString(), .. fixture.Worker.CommandSettings], status));
        Assert.Equal(0, await CampaignCommand.RunAsync(["status", start.CampaignId.ToString(), "--wait", .. fixture.Worker.CommandSettings], status));

        output.WriteLine(status.ToString());
        Assert.Matches(@"generated\s+4\s+\(100\.0 %\)", status.ToString());
        Assert.Contains("completed at", status.ToString());
        Assert.Equal(3, await CampaignCommand.RunAsync(["status", Guid.NewGuid().ToString(), .. fixture.Worker.CommandSettings], new StringWriter()));
    }

    private IHost CommandHost(int batchSize)
    {
        var builder = PortalLinkWorkerHost.CreateBuilder([.. fixture.Worker.CommandSettings, $"--Campaigns:BatchSize={batchSize}"]);
        builder.Services.AddPortalLinkOptions();
        builder.Services.AddPortalLinkDatabase();
        return builder.Build();
    }

    private static async Task<string> CsvAsync(IEnumerable<string> customers)
    {
        var file = Path.Combine(Path.GetTempPath(), $"campaign-{Guid.NewGuid():N}.csv");
        await File.WriteAllLinesAsync(file, ["customer_id", .. customers]);
        return file;
    }
}
