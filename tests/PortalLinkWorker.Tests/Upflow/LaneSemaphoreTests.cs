using PortalLinkWorker.Upflow;

namespace PortalLinkWorker.Tests.Upflow;

[Trait("Category", "Unit")]
public sealed class LaneSemaphoreTests
{
    private static readonly TimeSpan Forever = Timeout.InfiniteTimeSpan;

    [Fact]
    public async Task Release_GoesToTheLiveWaiter_EvenWhenBulkWaitedLonger()
    {
        var slots = new LaneSemaphore(1, 1);
        await slots.WaitAsync(UpflowLane.Bulk, Forever, CancellationToken.None);
        var bulk = slots.WaitAsync(UpflowLane.Bulk, Forever, CancellationToken.None);
        var live = slots.WaitAsync(UpflowLane.Live, Forever, CancellationToken.None);

        slots.Release(UpflowLane.Bulk);

        Assert.True(await live);
        Assert.False(bulk.IsCompleted);
        slots.Release(UpflowLane.Live);
        Assert.True(await bulk);
    }

    [Fact]
    public async Task Bulk_NeverHoldsTheReservedSlot()
    {
        var slots = new LaneSemaphore(3, 2);
        await slots.WaitAsync(UpflowLane.Bulk, Forever, CancellationToken.None);
        await slots.WaitAsync(UpflowLane.Bulk, Forever, CancellationToken.None);

        var third = slots.WaitAsync(UpflowLane.Bulk, Forever, CancellationToken.None);
        var live = slots.WaitAsync(UpflowLane.Live, TimeSpan.Zero, CancellationToken.None);

        Assert.True(await live);
        Assert.False(third.IsCompleted);
        slots.Release(UpflowLane.Live);
        Assert.False(third.IsCompleted);
        slots.Release(UpflowLane.Bulk);
        Assert.True(await third);
    }

    [Fact]
    public async Task Timeout_LeavesTheQueue_AndTheNextWaiterIsServed()
    {
        var slots = new LaneSemaphore(1, 1);
        await slots.WaitAsync(UpflowLane.Live, Forever, CancellationToken.None);
        var gaveUp = slots.WaitAsync(UpflowLane.Live, TimeSpan.FromMilliseconds(20), CancellationToken.None);
        var bulk = slots.WaitAsync(UpflowLane.Bulk, Forever, CancellationToken.None);

        Assert.False(await gaveUp);
        slots.Release(UpflowLane.Live);

        Assert.True(await bulk);
    }

    [Fact]
    public async Task Cancellation_Throws_AndHoldsNothing()
    {
        var slots = new LaneSemaphore(1, 1);
        await slots.WaitAsync(UpflowLane.Live, Forever, CancellationToken.None);
        using var cancel = new CancellationTokenSource();
        var waiting = slots.WaitAsync(UpflowLane.Live, Forever, cancel.Token);

        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);
        slots.Release(UpflowLane.Live);
        Assert.True(await slots.WaitAsync(UpflowLane.Bulk, TimeSpan.Zero, CancellationToken.None));
    }
}
