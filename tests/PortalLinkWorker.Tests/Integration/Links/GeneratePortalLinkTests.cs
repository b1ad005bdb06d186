using System.Text;
using MassTransit;
using PortalLinkContracts;
using PortalLinkWorker.Links;
using RabbitMQ.Client;

namespace PortalLinkWorker.Tests.Integration.Links;

/// <summary>End to end: RabbitMQ → worker → Upflow simulator over HTTP → PostgreSQL → events on RabbitMQ.</summary>
[Collection(WorkerCollection.Name)]
[Trait("Category", "Integration")]
public sealed class GeneratePortalLinkTests(WorkerFixture fixture)
{
    private static string External(string prefix) => $"external:{prefix}-{Guid.NewGuid():N}";

    private async Task<ISendEndpoint> Queue() =>
        await fixture.Observer.Bus.GetSendEndpoint(new Uri($"queue:{GeneratePortalLinkConsumerDefinition.QueueName}"));

    [Fact]
    public async Task Publish_UuidCustomer_LinkSavedAndPublished()
    {
        var customerId = Guid.NewGuid().ToString();
        var request = new GeneratePortalLink(Guid.NewGuid(), customerId);
        var before = DateTimeOffset.UtcNow;

        await fixture.Observer.Bus.Publish(request);
        var generated = await fixture.Observer.OutcomeAsync<PortalLinkGenerated>(request.RequestId);

        Assert.Equal(customerId, generated.CustomerId);
        Assert.StartsWith("https://", generated.Url);
        Assert.InRange(generated.ExpiresAt, before.AddSeconds(86_400), DateTimeOffset.UtcNow.AddSeconds(86_400));
        var row = (await fixture.Database.RowAsync(request.RequestId))!;
        Assert.Equal("generated", row.Status);
        Assert.Equal(generated.Url, row.Url);
        var call = Assert.Single(await fixture.Simulator.CallsAsync(customerId));
        Assert.Equal(86_400, call.ExpiresIn);
        Assert.False(call.BodyHadFrameAncestors);
        Assert.DoesNotContain(fixture.Observer.Faults, f => f.Message.RequestId == request.RequestId);
    }

    [Fact]
    public async Task Send_ExternalIdNeedingEncoding_ReachesUpflowAsThatId()
    {
        var customerId = $"external:ACME/42 #1?x=%41-{Guid.NewGuid():N}";
        var request = new GeneratePortalLink(Guid.NewGuid(), customerId, 5_184_000, "extranet.merchant.com intranet.merchant.com",
            CampaignId: Guid.NewGuid());
        var before = DateTimeOffset.UtcNow;

        await (await Queue()).Send(request);
        var generated = await fixture.Observer.OutcomeAsync<PortalLinkGenerated>(request.RequestId);

        Assert.Equal(request.CampaignId, generated.CampaignId);
        Assert.InRange(generated.ExpiresAt, before.AddSeconds(5_184_000), DateTimeOffset.UtcNow.AddSeconds(5_184_000));
        var call = Assert.Single(await fixture.Simulator.CallsAsync(customerId));
        Assert.Equal(customerId, call.CustomerId);
        Assert.Equal(5_184_000, call.ExpiresIn);
        Assert.Equal("extranet.merchant.com intranet.merchant.com", call.FrameAncestors);
        Assert.Equal(request.CampaignId, (await fixture.Database.RowAsync(request.RequestId))!.CampaignId);
    }

    public static TheoryData<string, string?, int?, string?> InvalidRequests => new()
    {
        { "empty customer id", "", null, null },
        { "null customer id", null, null, null },
        { "not a uuid", "12345", null, null },
        { "external without id", "external:", null, null },
        { "control character", "external:a\nb", null, null },
        { "too long", "external:" + new string('x', 300), null, null },
        { "expiresIn zero", "external:ok", 0, null },
        { "expiresIn negative", "external:ok", -1, null },
        { "expiresIn above max", "external:ok", 86_400_001, null },
        { "frameAncestors with scheme", "external:ok", null, "https://a.example" },
        { "frameAncestors CSP injection", "external:ok", null, "a.example; script-src *" },
        { "frameAncestors wildcard", "external:ok", null, "*.example" },
        { "frameAncestors newline", "external:ok", null, "a.example\nb.example" },
    };

    [Theory]
    [MemberData(nameof(InvalidRequests))]
    public async Task InvalidRequest_FailsWithoutCallingUpflow(string kind, string? customerId, int? expiresIn, string? frameAncestors)
    {
        var callsBefore = (await fixture.Simulator.CallsAsync()).Count;
        var request = new GeneratePortalLink(Guid.NewGuid(), customerId!, expiresIn, frameAncestors);

        await fixture.Observer.Bus.Publish(request);
        var failed = await fixture.Observer.OutcomeAsync<PortalLinkFailed>(request.RequestId);

        Assert.Equal(PortalLinkFailureReason.InvalidRequest, failed.Reason);
        Assert.False(string.IsNullOrWhiteSpace(failed.Message), kind);
        Assert.Equal(callsBefore, (await fixture.Simulator.CallsAsync()).Count);
        Assert.Equal("failed", (await fixture.Database.RowAsync(request.RequestId))!.Status);
    }

    [Fact]
    public async Task EmptyRequestId_FailsAsInvalidAndStoresNothing()
    {
        var customerId = External("no-request-id");
        await fixture.Observer.Bus.Publish(new GeneratePortalLink(Guid.Empty, customerId));

        PortalLinkFailed? Answer() => fixture.Observer.OutcomesOf(Guid.Empty).OfType<PortalLinkFailed>().FirstOrDefault(f => f.CustomerId == customerId);
        await Eventually.TrueAsync(() => Answer() is not null);
        var failed = Answer()!;
        Assert.Equal(PortalLinkFailureReason.InvalidRequest, failed.Reason);
        Assert.Contains("RequestId", failed.Message);
        Assert.Empty(await fixture.Simulator.CallsAsync(customerId));
        Assert.Null(await fixture.Database.RowAsync(Guid.Empty));
    }

    [Fact]
    public async Task UnknownCustomer_CustomerNotFound()
    {
        var request = new GeneratePortalLink(Guid.NewGuid(), External("unknown"));
        await fixture.Observer.Bus.Publish(request);

        var failed = await fixture.Observer.OutcomeAsync<PortalLinkFailed>(request.RequestId);
        Assert.Equal(PortalLinkFailureReason.CustomerNotFound, failed.Reason);
        var row = (await fixture.Database.RowAsync(request.RequestId))!;
        Assert.Equal(PortalLinkFailureReason.CustomerNotFound, row.FailureReason);
        Assert.Single(await fixture.Simulator.CallsAsync(request.CustomerId));
    }

    [Theory]
    [InlineData(400)]
    [InlineData(422)]
    public async Task UpflowRejects_RejectedWithoutRetry(int status)
    {
        var request = new GeneratePortalLink(Guid.NewGuid(), External($"sim-status-{status}"));
        await fixture.Observer.Bus.Publish(request);

        var failed = await fixture.Observer.OutcomeAsync<PortalLinkFailed>(request.RequestId);
        Assert.Equal(PortalLinkFailureReason.Rejected, failed.Reason);
        Assert.Contains(status.ToString(), failed.Message);
        Assert.Single(await fixture.Simulator.CallsAsync(request.CustomerId));
    }

    [Fact]
    public async Task TransientFailures_RetriedUntilGenerated()
    {
        var request = new GeneratePortalLink(Guid.NewGuid(), External("sim-fail-2"));
        await fixture.Observer.Bus.Publish(request);

        await fixture.Observer.OutcomeAsync<PortalLinkGenerated>(request.RequestId);
        Assert.Equal([503, 503, 200], (await fixture.Simulator.CallsAsync(request.CustomerId)).Select(c => c.Status));
    }

    [Fact]
    public async Task PersistentServerErrors_FailOnlyOnceAnotherRequestShowsUpflowAnswering()
    {
        var testStarted = DateTimeOffset.UtcNow;
        // One customer whose calls always fail, alone in the queue: that looks like an outage, and without a call for a
        // made-up customer nothing can tell the two apart, so the request waits (one trial call per probe interval).
        var request = new GeneratePortalLink(Guid.NewGuid(), External("sim-status-503"));
        await fixture.Observer.Bus.Publish(request);
        await Eventually.TrueAsync(async () => (await fixture.Simulator.CallsAsync(request.CustomerId)).Count > WorkerFixture.MaxRetryAttempts + 1,
            TimeSpan.FromSeconds(30));
        Assert.Empty(fixture.Observer.OutcomesOf(request.RequestId));

        // Another request is answered: Upflow is up, so the first request's failures are its own.
        var other = new GeneratePortalLink(Guid.NewGuid(), External("answered"));
        await fixture.Observer.Bus.Publish(other);
        await fixture.Observer.OutcomeAsync<PortalLinkGenerated>(other.RequestId);
        var failed = await fixture.Observer.OutcomeAsync<PortalLinkFailed>(request.RequestId);
        Assert.Equal(PortalLinkFailureReason.UpflowUnavailable, failed.Reason);
        Assert.DoesNotContain(fixture.Observer.Faults, f => f.Message.RequestId == request.RequestId);
        // No call was made for a customer no request named.
        Assert.DoesNotContain(await fixture.Simulator.CallsAsync(), c => c.At >= testStarted && c.CustomerId.Contains("probe", StringComparison.Ordinal));
    }

    [Fact]
    public async Task DuplicateRequestId_RepublishesStoredLinkWithoutCallingUpflowAgain()
    {
        var request = new GeneratePortalLink(Guid.NewGuid(), External("duplicate"));
        await fixture.Observer.Bus.Publish(request);
        var first = await fixture.Observer.OutcomeAsync<PortalLinkGenerated>(request.RequestId);

        await fixture.Observer.Bus.Publish(request);
        var outcomes = await fixture.Observer.WaitForOutcomesAsync(request.RequestId, 2);

        Assert.Equal(first, Assert.IsType<PortalLinkGenerated>(outcomes[1]));
        Assert.Single(await fixture.Simulator.CallsAsync(request.CustomerId));
    }

    [Fact]
    public async Task RequestIdReusedForAnotherCustomer_IsRejected_NotAnsweredWithTheOtherCustomersLink()
    {
        var first = new GeneratePortalLink(Guid.NewGuid(), External("first-customer"));
        await fixture.Observer.Bus.Publish(first);
        var generated = await fixture.Observer.OutcomeAsync<PortalLinkGenerated>(first.RequestId);

        var reused = first with { CustomerId = External("second-customer") };
        await fixture.Observer.Bus.Publish(reused);
        var outcomes = await fixture.Observer.WaitForOutcomesAsync(first.RequestId, 2);

        var failed = Assert.IsType<PortalLinkFailed>(outcomes[1]);
        Assert.Equal(PortalLinkFailureReason.InvalidRequest, failed.Reason);
        Assert.Equal(reused.CustomerId, failed.CustomerId);
        Assert.Contains("already used", failed.Message);
        Assert.Empty(await fixture.Simulator.CallsAsync(reused.CustomerId));
        Assert.Equal(generated.Url, (await fixture.Database.RowAsync(first.RequestId))!.Url);
    }

    [Fact]
    public async Task TwoCopiesAtOnce_OneUpflowCall()
    {
        // Slow Upflow down so that both copies are in flight together.
        await fixture.Simulator.ConfigureAsync(new { latencyMs = 700 });
        try
        {
            var request = new GeneratePortalLink(Guid.NewGuid(), External("concurrent"));
            await Task.WhenAll(fixture.Observer.Bus.Publish(request), fixture.Observer.Bus.Publish(request));

            var outcomes = await fixture.Observer.WaitForOutcomesAsync(request.RequestId, 2);
            var urls = outcomes.Cast<PortalLinkGenerated>().Select(g => g.Url).Distinct();
            Assert.Single(urls);
            Assert.Single(await fixture.Simulator.CallsAsync(request.CustomerId));
        }
        finally
        {
            await fixture.Simulator.ConfigureAsync(new { latencyMs = 0 });
        }
    }

    [Fact]
    public async Task CrashAfterSaveBeforePublish_RedeliveryRepublishesWithoutCallingUpflow()
    {
        // The state a crash leaves between committing the outcome and publishing it: the row is final, the message was
        // never acknowledged, so RabbitMQ hands it out again.
        var request = new GeneratePortalLink(Guid.NewGuid(), External("crashed"));
        var savedAt = DateTimeOffset.UtcNow.AddMinutes(-1);
        await fixture.Database.ExecuteAsync("""
            INSERT INTO portal_links (request_id, customer_id, status, url, expires_at, generated_at, expires_in, created_at, updated_at)
            VALUES (@id, @customer, 'generated', 'https://portal.upflow-simulator.invalid/p/saved-before-crash', @expires, @at, 86400, @at, @at)
            """, ("id", request.RequestId), ("customer", request.CustomerId), ("expires", savedAt.AddDays(1)), ("at", savedAt));

        await fixture.Observer.Bus.Publish(request);
        var generated = await fixture.Observer.OutcomeAsync<PortalLinkGenerated>(request.RequestId);

        Assert.Equal("https://portal.upflow-simulator.invalid/p/saved-before-crash", generated.Url);
        Assert.Equal(savedAt.AddDays(1).ToUnixTimeMilliseconds(), generated.ExpiresAt.ToUnixTimeMilliseconds());
        Assert.Empty(await fixture.Simulator.CallsAsync(request.CustomerId));
    }

    [Fact]
    public async Task RawJsonFromAPublisherWithoutMassTransit_IsConsumed_AndGarbageDoesNotStopTheConsumer()
    {
        var request = new GeneratePortalLink(Guid.NewGuid(), External("raw-json"));
        var factory = new ConnectionFactory { Uri = new Uri(fixture.RabbitMq) };
        await using (var connection = await factory.CreateConnectionAsync())
        await using (var channel = await connection.CreateChannelAsync())
        {
            var json = new BasicProperties { ContentType = "application/json", Persistent = true };
            await channel.BasicPublishAsync("", GeneratePortalLinkConsumerDefinition.QueueName, false, json,
                Encoding.UTF8.GetBytes("{ this is not json"));
            await channel.BasicPublishAsync("", GeneratePortalLinkConsumerDefinition.QueueName, false, json,
                Encoding.UTF8.GetBytes($$"""{"requestId":"{{request.RequestId}}","customerId":"{{request.CustomerId}}","expiresIn":600}"""));
        }

        var generated = await fixture.Observer.OutcomeAsync<PortalLinkGenerated>(request.RequestId);
        Assert.Equal(request.CustomerId, generated.CustomerId);
        Assert.Equal(600, Assert.Single(await fixture.Simulator.CallsAsync(request.CustomerId)).ExpiresIn);
    }
}
