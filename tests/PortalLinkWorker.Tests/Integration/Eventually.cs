namespace PortalLinkWorker.Tests.Integration;

/// <summary>Polls a condition of the real system until it holds, or fails the test after a bounded wait.</summary>
public static class Eventually
{
    private static readonly TimeSpan DefaultPatience = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(50);

    public static async Task TrueAsync(Func<Task<bool>> condition, TimeSpan? patience = null)
    {
        using var limit = new CancellationTokenSource(patience ?? DefaultPatience);
        while (!await condition())
        {
            if (limit.IsCancellationRequested)
                throw new TimeoutException($"The condition did not hold within {(patience ?? DefaultPatience).TotalSeconds} s.");
            await Task.Delay(Poll, CancellationToken.None);
        }
    }

    public static Task TrueAsync(Func<bool> condition, TimeSpan? patience = null) =>
        TrueAsync(() => Task.FromResult(condition()), patience);
}
