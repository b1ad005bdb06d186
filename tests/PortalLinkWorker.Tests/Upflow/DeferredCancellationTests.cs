using PortalLinkWorker.Upflow;

namespace PortalLinkWorker.Tests.Upflow;

[Trait("Category", "Unit")]
public sealed class DeferredCancellationTests
{
    [Fact]
    public void Cancel_WithoutHold_CancelsAtOnce()
    {
        using var outer = new CancellationTokenSource();
        using var deferred = new DeferredCancellation(outer.Token);

        outer.Cancel();

        Assert.True(deferred.Token.IsCancellationRequested);
    }

    [Fact]
    public void Cancel_WhileHeld_WaitsForTheLastRelease()
    {
        using var outer = new CancellationTokenSource();
        using var deferred = new DeferredCancellation(outer.Token);
        var first = deferred.Defer();
        var second = deferred.Defer();

        outer.Cancel();
        first.Dispose();
        first.Dispose();
        Assert.False(deferred.Token.IsCancellationRequested);
        second.Dispose();

        Assert.True(deferred.Token.IsCancellationRequested);
    }

    [Fact]
    public void Release_WithoutCancel_LeavesTheTokenUncancelled()
    {
        using var outer = new CancellationTokenSource();
        using var deferred = new DeferredCancellation(outer.Token);

        deferred.Defer().Dispose();

        Assert.False(deferred.Token.IsCancellationRequested);
        outer.Cancel();
        Assert.True(deferred.Token.IsCancellationRequested);
    }
}
