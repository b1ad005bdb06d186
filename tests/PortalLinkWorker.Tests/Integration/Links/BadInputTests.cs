using System.Text;
using PortalLinkContracts;
using PortalLinkWorker.Hosting;
using PortalLinkWorker.Input;
using PortalLinkWorker.Links;
using PortalLinkWorker.TestKit;

namespace PortalLinkWorker.Tests.Integration.Links;

/// <summary>Everything a publisher can get wrong on the wire: each gets a clear answer or lands in the error queue, the
/// consumer carries on, and Upflow is never called.</summary>
[Collection(WorkerCollection.Name)]
[Trait("Category", "Fault")]
public sealed class BadInputTests(WorkerFixture fixture)
{
    private const string Queue = GeneratePortalLinkConsumerDefinition.QueueName;
    private const string Json = "application/json";
    private const string Envelope = "application/vnd.masstransit+json";

    public enum Lands { FailedEvent, FailedWithoutRequestId, ErrorQueue, SkippedQueue }

    public static TheoryData<string, Func<Guid, byte[]>, string?, Lands> Cases()
    {
        static byte[] Utf8(string s) => Encoding.UTF8.GetBytes(s);
        static Func<Guid, byte[]> Body(Func<Guid, string> text) => id => Utf8(text(id));
        return new()
        {
            { "expiresIn as a string", Body(id => $$"""{"requestId":"{{id}}","customerId":"external:1","expiresIn":"60"}"""), Json, Lands.FailedEvent },
            { "expiresIn with a fraction", Body(id => $$"""{"requestId":"{{id}}","customerId":"external:1","expiresIn":1.5}"""), Json, Lands.FailedEvent },
            { "expiresIn beyond Int32", Body(id => $$"""{"requestId":"{{id}}","customerId":"external:1","expiresIn":2147483648}"""), Json, Lands.FailedEvent },
            { "customerId as a number", Body(id => $$"""{"requestId":"{{id}}","customerId":12345}"""), Json, Lands.FailedEvent },
            { "campaignId not a UUID", Body(id => $$"""{"requestId":"{{id}}","customerId":"external:1","campaignId":"abc"}"""), Json, Lands.FailedEvent },
            { "frameAncestors as a number", Body(id => $$"""{"requestId":"{{id}}","customerId":"external:1","frameAncestors":5}"""), Json, Lands.FailedEvent },
            { "wrong type inside a MassTransit envelope", Body(id => $$$"""{"messageId":"{{{Guid.NewGuid()}}}","messageType":["urn:message:PortalLinkContracts:GeneratePortalLink"],"message":{"requestId":"{{{id}}}","customerId":"external:1","expiresIn":"soon"}}"""), Envelope, Lands.FailedEvent },
            { "a megabyte of customer id", Body(id => $$"""{"requestId":"{{id}}","customerId":"external:{{new string('x', 1_000_000)}}"}"""), Json, Lands.FailedEvent },
            // Issue 15: each gets a clear answer, no Upflow call, a bounded and clean echo, and nothing waits behind it.
            { "5 MB customer id (over Consumer:MaxMessageSize, refused before reading)", Body(id => $$"""{"requestId":"{{id}}","customerId":"external:{{new string('x', 5_000_000)}}"}"""), Json, Lands.FailedEvent },
            { "oversized message, valid fields, 1 MB of padding", Body(id => $$"""{"padding":"{{new string('p', 1_000_000)}}","requestId":"{{id}}","customerId":"external:1"}"""), Json, Lands.FailedEvent },
            { "oversized message without a RequestId", Body(_ => $$"""{"customerId":"external:{{new string('x', ConsumerOptions.DefaultMaxMessageSize)}}"}"""), Json, Lands.ErrorQueue },
            { "lone surrogate in customerId", Body(id => $$"""{"requestId":"{{id}}","customerId":"external:\ud800x"}"""), Json, Lands.FailedEvent },
            { "lone surrogate inside a MassTransit envelope", Body(id => $$$"""{"messageId":"{{{Guid.NewGuid()}}}","messageType":["urn:message:PortalLinkContracts:GeneratePortalLink"],"message":{"requestId":"{{{id}}}","customerId":"external:\udc00"}}"""), Envelope, Lands.FailedEvent },
            { "1,024 CJK characters of invalid id (stored cut by UTF-8 bytes, not retried)", Body(id => $$"""{"requestId":"{{id}}","customerId":"external:{{new string('東', 1024)}}"}"""), Json, Lands.FailedEvent },
            { "CR/LF in customerId (a forged log line)", Body(id => $$"""{"requestId":"{{id}}","customerId":"external:a\r\n12:00:00 INF Portal link generated"}"""), Json, Lands.FailedEvent },
            { "U+2028 in customerId", Body(id => $$"""{"requestId":"{{id}}","customerId":"external:a\u2028b"}"""), Json, Lands.FailedEvent },
            { "bidi override in customerId", Body(id => $$"""{"requestId":"{{id}}","customerId":"external:\u202Eevil"}"""), Json, Lands.FailedEvent },
            { "NUL in customerId", Body(id => $$"""{"requestId":"{{id}}","customerId":"external:a\u0000b"}"""), Json, Lands.FailedEvent },
            { "requestId not a UUID", Body(_ => """{"requestId":"not-a-uuid","customerId":"external:1"}"""), Json, Lands.ErrorQueue },
            { "not JSON", Body(_ => "{ this is not json"), Json, Lands.ErrorQueue },
            { "not UTF-8", _ => [0x7b, 0xff, 0xfe, 0x22, 0x7d], Json, Lands.ErrorQueue },
            { "empty body (no field at all)", _ => [], Json, Lands.FailedWithoutRequestId },
            { "unknown message type", Body(_ => $$$"""{"messageId":"{{{Guid.NewGuid()}}}","messageType":["urn:message:Elsewhere:SomethingElse"],"message":{"x":1}}"""), Envelope, Lands.SkippedQueue },
        };
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task BadMessage_AnsweredOrSetAside_ConsumerCarriesOn_UpflowNeverCalled(string kind, Func<Guid, byte[]> body, string? contentType, Lands lands)
    {
        var requestId = Guid.NewGuid();
        var callsBefore = (await fixture.Simulator.CallsAsync()).Count;
        var errorsBefore = await RawQueue.DepthAsync(fixture.RabbitMq, Queue + "_error");
        var skippedBefore = await RawQueue.DepthAsync(fixture.RabbitMq, Queue + "_skipped");
        var keylessBefore = fixture.Observer.OutcomesOf(Guid.Empty).Count;

        await RawQueue.PublishAsync(fixture.RabbitMq, Queue, body(requestId), contentType);
        // A valid message behind it: the consumer must still be working.
        var sentinel = new GeneratePortalLink(Guid.NewGuid(), $"external:sentinel-{Guid.NewGuid():N}");
        await fixture.Observer.Bus.Publish(sentinel);
        await fixture.Observer.OutcomeAsync<PortalLinkGenerated>(sentinel.RequestId);

        switch (lands)
        {
            case Lands.FailedEvent:
                var failed = await fixture.Observer.OutcomeAsync<PortalLinkFailed>(requestId);
                Assert.Equal(PortalLinkFailureReason.InvalidRequest, failed.Reason);
                Assert.False(string.IsNullOrWhiteSpace(failed.Message), kind);
                // A bounded, clean echo: what a subscriber logs or shows cannot be megabytes or forge a line.
                Assert.True(failed.CustomerId.Length <= UntrustedText.MaxEchoLength + UntrustedText.CutMark.Length, kind);
                Assert.True(failed.Message.Length <= 1_000, kind);
                Assert.Null(UntrustedText.FindUnsafe(failed.CustomerId));
                Assert.Null(UntrustedText.FindUnsafe(failed.Message));
                // Answered once, not after retries: the row (when there is one) is final.
                if (await fixture.Database.RowAsync(requestId) is { } row)
                    Assert.Equal("failed", row.Status);
                break;
            case Lands.FailedWithoutRequestId:
                await Eventually.TrueAsync(() => Task.FromResult(fixture.Observer.OutcomesOf(Guid.Empty).Count > keylessBefore));
                Assert.Contains("RequestId", Assert.IsType<PortalLinkFailed>(fixture.Observer.OutcomesOf(Guid.Empty)[^1]).Message);
                break;
            case Lands.ErrorQueue:
                await Eventually.TrueAsync(async () => await RawQueue.DepthAsync(fixture.RabbitMq, Queue + "_error") > errorsBefore);
                // With the reason.
                var reason = (await RawQueue.PeekHeadersAsync(fixture.RabbitMq, Queue + "_error"))[^1]["MT-Fault-Message"];
                Assert.False(string.IsNullOrWhiteSpace(reason is byte[] bytes ? Encoding.UTF8.GetString(bytes) : reason?.ToString()), kind);
                break;
            case Lands.SkippedQueue:
                await Eventually.TrueAsync(async () => await RawQueue.DepthAsync(fixture.RabbitMq, Queue + "_skipped") > skippedBefore);
                break;
        }
        // Only the sentinel reached Upflow.
        Assert.Equal(callsBefore + 1, (await fixture.Simulator.CallsAsync()).Count);
    }
}
