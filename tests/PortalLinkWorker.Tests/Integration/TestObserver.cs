using MassTransit;
using PortalLinkContracts;
using PortalLinkWorker.TestKit;

namespace PortalLinkWorker.Tests.Integration;

/// <summary>The fixture's observer bus: publishes requests and keeps every outcome event, fault and campaign completion,
/// with the waits and expectations the tests use on them.</summary>
public sealed class TestObserver : IAsyncDisposable
{
    private static readonly TimeSpan OutcomeWait = TimeSpan.FromSeconds(60);

    private readonly ObserverBus _observer;
    private readonly OutcomeTracker _tracker;

    private TestObserver(ObserverBus observer, OutcomeTracker tracker)
    {
        _observer = observer;
        _tracker = tracker;
    }

    public IBus Bus => _observer.Bus;

    public static async Task<TestObserver> StartAsync(string rabbitMq)
    {
        var tracker = new OutcomeTracker();
        // A durable queue of its own, not a temporary one: the fault tests restart the broker, and the events published
        // while it comes back must still reach the test.
        var observer = await ObserverBus.StartAsync(rabbitMq, tracker, durableQueue: $"portal-link-tests-{Guid.NewGuid():N}");
        return new TestObserver(observer, tracker);
    }

    /// <summary>Every <see cref="Fault{T}"/> of a <see cref="GeneratePortalLink"/> seen so far, in arrival order.</summary>
    public IReadOnlyCollection<Fault<GeneratePortalLink>> Faults =>
        [.. _tracker.All.Where(o => o.Kind == OutcomeKind.Faulted).Select(o => (Fault<GeneratePortalLink>)o.Message)];

    /// <summary>Every outcome event (<see cref="PortalLinkGenerated"/>, <see cref="PortalLinkFailed"/>) seen so far for a
    /// request; faults are in <see cref="Faults"/>.</summary>
    public IReadOnlyList<object> OutcomesOf(Guid requestId) =>
        [.. _tracker.OutcomesOf(requestId).Where(o => o.Kind != OutcomeKind.Faulted).Select(o => o.Message)];

    /// <summary>Waits until <paramref name="count"/> outcome events for the request have arrived.</summary>
    public async Task<IReadOnlyList<object>> WaitForOutcomesAsync(Guid requestId, int count = 1)
    {
        await _tracker.WaitUntilAsync(() => OutcomesOf(requestId).Count >= count, OutcomeWait,
            () => $"No {count} outcome(s) for request {requestId} within {OutcomeWait.TotalSeconds} s; saw {OutcomesOf(requestId).Count}.");
        return OutcomesOf(requestId);
    }

    /// <summary>Waits for each request's first outcome and asserts it is <see cref="PortalLinkGenerated"/>.</summary>
    public async Task ExpectGeneratedAsync(IEnumerable<GeneratePortalLink> requests)
    {
        foreach (var request in requests)
            Assert.IsType<PortalLinkGenerated>((await WaitForOutcomesAsync(request.RequestId))[0]);
    }

    public async Task<T> OutcomeAsync<T>(Guid requestId) => Assert.IsType<T>((await WaitForOutcomesAsync(requestId))[0]);

    /// <summary>Every <see cref="PortalLinkCampaignCompleted"/> seen for a campaign, with its message id, in arrival order.</summary>
    public IReadOnlyList<CampaignCompletion> CompletionsOf(Guid campaignId) => _observer.CompletionsOf(campaignId);

    /// <summary>Waits until <paramref name="count"/> completions of the campaign have arrived.</summary>
    public async Task<IReadOnlyList<CampaignCompletion>> WaitForCompletionsAsync(Guid campaignId, int count = 1,
        TimeSpan? patience = null)
    {
        await Eventually.TrueAsync(() => CompletionsOf(campaignId).Count >= count, patience ?? OutcomeWait);
        return CompletionsOf(campaignId);
    }

    public ValueTask DisposeAsync() => _observer.DisposeAsync();
}
