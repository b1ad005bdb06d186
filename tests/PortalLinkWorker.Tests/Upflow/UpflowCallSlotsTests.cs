using Microsoft.Extensions.Time.Testing;
using PortalLinkWorker.Upflow;

namespace PortalLinkWorker.Tests.Upflow;

[Trait("Category", "Unit")]
public sealed class UpflowCallSlotsTests
{
    private static UpflowCallSlots Replica(InMemorySlotLocks table, int max = 5, int reservedLive = 1) =>
        new(table.For(), new UpflowOptions { MaxConcurrentRequests = max, ReservedLiveRequests = reservedLive }, TimeProvider.System);

    [Fact]
    public async Task ThreeReplicas_NeverMoreCallsInFlightThanTheFleetsCap()
    {
        var table = new InMemorySlotLocks();
        var replicas = new[] { Replica(table), Replica(table), Replica(table) };
        var inFlight = 0;
        var peak = 0;
        var bySlot = new int[5];

        async Task Call(UpflowCallSlots replica, UpflowLane lane)
        {
            var slot = await replica.AcquireAsync(lane, CancellationToken.None);
            var now = Interlocked.Increment(ref inFlight);
            InterlockedMax(ref peak, now);
            Assert.Equal(1, Interlocked.Increment(ref bySlot[slot]));
            await Task.Delay(Random.Shared.Next(1, 4));
            Interlocked.Decrement(ref bySlot[slot]);
            Interlocked.Decrement(ref inFlight);
            replica.Release(slot);
        }

        await Task.WhenAll(Enumerable.Range(0, 300).Select(i =>
            Task.Run(() => Call(replicas[i % 3], i % 4 == 0 ? UpflowLane.Live : UpflowLane.Bulk))));

        Assert.InRange(peak, 2, 5);
        Assert.All(replicas, r => Assert.Equal(0, r.Held));
    }

    [Fact]
    public async Task BulkCallersOfEveryReplica_LeaveTheLiveSlotFree()
    {
        var table = new InMemorySlotLocks();
        var a = Replica(table);
        var b = Replica(table);
        var bulk = new List<int>();
        for (var i = 0; i < 2; i++)
            bulk.Add(await a.AcquireAsync(UpflowLane.Bulk, CancellationToken.None));
        for (var i = 0; i < 2; i++)
            bulk.Add(await b.AcquireAsync(UpflowLane.Bulk, CancellationToken.None));

        // The fifth bulk call waits: slot 4 is for live requests only, in every replica.
        var fifth = b.AcquireAsync(UpflowLane.Bulk, CancellationToken.None);
        var live = await a.AcquireAsync(UpflowLane.Live, CancellationToken.None);
        Assert.Equal(4, live);
        Assert.DoesNotContain(4, bulk);
        Assert.False(fifth.IsCompleted);

        a.Release(bulk[0]);
        Assert.Equal(bulk[0], await fifth);
    }

    [Fact]
    public async Task AFreedSlot_GoesToAWaitingLiveCallerBeforeABulkOne()
    {
        var table = new InMemorySlotLocks();
        var replica = Replica(table, max: 2, reservedLive: 0);
        var first = await replica.AcquireAsync(UpflowLane.Bulk, CancellationToken.None);
        var second = await replica.AcquireAsync(UpflowLane.Bulk, CancellationToken.None);
        var bulk = replica.AcquireAsync(UpflowLane.Bulk, CancellationToken.None);
        var live = replica.AcquireAsync(UpflowLane.Live, CancellationToken.None);

        replica.Release(first);
        Assert.Equal(first, await live);
        Assert.False(bulk.IsCompleted);
        replica.Release(second);
        Assert.Equal(second, await bulk);
    }

    [Fact]
    public async Task Cancelled_WhileWaiting_TakesNoSlot()
    {
        var table = new InMemorySlotLocks();
        var replica = Replica(table, max: 1, reservedLive: 0);
        var held = await replica.AcquireAsync(UpflowLane.Live, CancellationToken.None);
        using var cancel = new CancellationTokenSource();
        var waiting = replica.AcquireAsync(UpflowLane.Live, cancel.Token);
        cancel.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);

        replica.Release(held);
        var other = Replica(table, max: 1, reservedLive: 0);
        Assert.Equal(0, await other.AcquireAsync(UpflowLane.Live, CancellationToken.None));
    }

    [Fact]
    public async Task ASlotWhoseLeaseRanOut_GoesToAnotherReplicaThatWaits_NotBackToItsOwnWaiter()
    {
        var table = new InMemorySlotLocks();
        var time = new FakeTimeProvider(DateTimeOffset.UnixEpoch);
        var options = new UpflowOptions { MaxConcurrentRequests = 2, ReservedLiveRequests = 0 };
        var busy = new UpflowCallSlots(table.For(), options, time);
        var joining = new UpflowCallSlots(table.For(), options, time);
        var first = await busy.AcquireAsync(UpflowLane.Bulk, CancellationToken.None);
        await busy.AcquireAsync(UpflowLane.Bulk, CancellationToken.None);
        var busyNext = busy.AcquireAsync(UpflowLane.Bulk, CancellationToken.None);
        var joiningNext = joining.AcquireAsync(UpflowLane.Bulk, CancellationToken.None);
        await Task.Delay(50); // both have asked the table once and wait for their next poll

        time.Advance(UpflowCallSlots.SlotLease);
        await Task.Delay(50);
        busy.Release(first); // its lease has run out: back to the fleet
        await Task.Delay(50); // the busy replica's own waiter is woken and asks at once
        Assert.False(busyNext.IsCompleted);

        time.Advance(UpflowCallSlots.PollInterval);
        Assert.Equal(first, await joiningNext.WaitAsync(TimeSpan.FromSeconds(5)));
        Assert.False(busyNext.IsCompleted);
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int seen;
        while ((seen = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, seen) != seen)
        {
        }
    }
}
