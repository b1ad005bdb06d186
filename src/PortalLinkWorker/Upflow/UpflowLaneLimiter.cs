using Polly;

namespace PortalLinkWorker.Upflow;

/// <summary>
/// The concurrency limit of the Upflow pipeline (<see cref="UpflowOptions.MaxConcurrentRequests"/> calls in flight per
/// process), aware of lanes: a freed slot goes to a waiting live request first, and campaign (bulk) requests never hold
/// more than <see cref="UpflowOptions.BulkConcurrentRequests"/> slots, so a live request never waits for a slot behind
/// a campaign. A slot is held while the call waits for the rate budget, which serves live requests first as well.
/// </summary>
public sealed class UpflowLaneLimiter(UpflowOptions options) : ResilienceStrategy<HttpResponseMessage>
{
    private readonly LaneSemaphore _slots = new(options.MaxConcurrentRequests, options.BulkConcurrentRequests);

    /// <summary>The lane the request was sent on (<see cref="UpflowClient.LaneOption"/>); live when unsaid.</summary>
    public static UpflowLane LaneOf(ResilienceContext context) =>
        context.GetRequestMessage()?.Options.TryGetValue(UpflowClient.LaneOption, out var lane) == true ? lane : UpflowLane.Live;

    protected override async ValueTask<Outcome<HttpResponseMessage>> ExecuteCore<TState>(
        Func<ResilienceContext, TState, ValueTask<Outcome<HttpResponseMessage>>> callback, ResilienceContext context, TState state)
    {
        var lane = LaneOf(context);
        await _slots.WaitAsync(lane, Timeout.InfiniteTimeSpan, context.CancellationToken);
        try
        {
            return await callback(context, state);
        }
        finally
        {
            _slots.Release(lane);
        }
    }
}
