using System.Text;
using PortalLinkContracts;
using PortalLinkWorker.Links;
using PortalLinkWorker.TestKit;
using Xunit.Abstractions;

namespace PortalLinkWorker.Tests.Integration.Links;

/// <summary>Issue 15: sixteen 20 MB messages at once took the worker from 232 MB to 1,625 MB. The worker runs as its own
/// process here (the built DLL, as an operator runs it), so its peak resident memory (VmHWM) is its own.</summary>
/// <remarks>RabbitMQ.Client reads a body whole before anyone can look at it, and RabbitMQ ignores a prefetch size, so with
/// the default prefetch (32) all sixteen bodies can be in memory at once: 16 × 20 MB over the resting size is the floor
/// no check in the worker can go under (measured 264, 364 and 471 MB). What the worker controls is that it adds no copy
/// of its own: the peak stays within the bodies held plus a margin. Below that takes a smaller Consumer:PrefetchCount or
/// the broker's max_message_size (README "Security").</remarks>
[Collection(WorkerCollection.Name)]
[Trait("Category", "Integration")]
public sealed class BadInputMemoryTests(WorkerFixture fixture, ITestOutputHelper output)
{
    private const int Messages = 16;
    private const int MessageBytes = 20 * 1024 * 1024;
    /// <summary>Room over the bodies for buffers, the JIT and the GC's slack.</summary>
    private const long MarginBytes = 96L * 1024 * 1024;

    [Fact]
    public async Task SixteenTwentyMegabyteMessagesAtOnce_AllAnswered_PeakRssNoMoreThanTheBodiesHeld()
    {
        await fixture.Worker.StopAsync();
        try
        {
            await using var worker = WorkerProcess.Start(fixture.Worker.Settings);
            var warmUp = new GeneratePortalLink(Guid.NewGuid(), $"external:memory-{Guid.NewGuid():N}");
            await fixture.Observer.Bus.Publish(warmUp);
            await fixture.Observer.OutcomeAsync<PortalLinkGenerated>(warmUp.RequestId);
            var before = ProcessMemory.Read(worker.Pid)!.Value.Rss;

            var ids = Enumerable.Range(0, Messages).Select(_ => Guid.NewGuid()).ToList();
            var padding = new string('x', MessageBytes);
            await Task.WhenAll(ids.Select(id => RawQueue.PublishAsync(fixture.RabbitMq, GeneratePortalLinkConsumerDefinition.QueueName,
                Encoding.UTF8.GetBytes($$"""{"requestId":"{{id}}","customerId":"external:{{padding}}"}"""), "application/json")));
            foreach (var id in ids)
                Assert.Equal(PortalLinkFailureReason.InvalidRequest, (await fixture.Observer.OutcomeAsync<PortalLinkFailed>(id)).Reason);

            var peak = ProcessMemory.Read(worker.Pid)!.Value.Peak;
            output.WriteLine($"worker RSS before {before / 1024 / 1024} MB; peak (VmHWM) with {Messages} × {MessageBytes / 1024 / 1024} MB messages: {peak / 1024 / 1024} MB");
            Console.WriteLine($"[BadInputMemoryTests] worker RSS before {before / 1024 / 1024} MB, peak {peak / 1024 / 1024} MB");
            Assert.True(peak < before + (long)Messages * MessageBytes + MarginBytes, $"peak RSS {peak / 1024 / 1024} MB");
        }
        finally
        {
            await fixture.Worker.StartAsync();
        }
    }
}
