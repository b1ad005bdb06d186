using PortalLinkWorker.Messaging;
using System.Collections.Concurrent;
using System.Diagnostics;
using MassTransit;
using PortalLinkContracts;
using PortalLinkWorker.Hosting;

namespace PortalLinkWorker.TestKit;

/// <summary>
/// A bus of the test's or benchmark's own on the worker's broker: it publishes the requests, hands every outcome event
/// and fault to the current <see cref="OutcomeTracker"/>, and keeps every campaign completion.
/// </summary>
public sealed class ObserverBus : IAsyncDisposable
{
    private readonly IBusControl _bus;
    private readonly string _rabbitMq;
    private readonly string? _durableQueue;
    private readonly ConcurrentQueue<CampaignCompletion> _completions = new();
    private volatile OutcomeTracker? _tracker;

    private ObserverBus(string rabbitMq, string? durableQueue, int? prefetchCount)
    {
        _rabbitMq = rabbitMq;
        _durableQueue = durableQueue;
        var address = RabbitMqAddress.TryParse(rabbitMq)
                      ?? throw new ArgumentException("Not an amqp:// or amqps:// URI.", nameof(rabbitMq));
        _bus = MassTransit.Bus.Factory.CreateUsingRabbitMq(rabbit =>
        {
            address.ApplyTo(rabbit);
            void Handlers(IRabbitMqReceiveEndpointConfigurator endpoint)
            {
                if (prefetchCount is { } prefetch)
                    endpoint.PrefetchCount = prefetch;
                endpoint.Handler<PortalLinkGenerated>(c =>
                    Record(c.Message.RequestId, OutcomeKind.Generated, c.Message, null));
                endpoint.Handler<PortalLinkFailed>(c =>
                    Record(c.Message.RequestId, OutcomeKind.Failed, c.Message, $"{c.Message.Reason}: {c.Message.Message}"));
                endpoint.Handler<Fault<GeneratePortalLink>>(c => Record(c.Message.Message.RequestId, OutcomeKind.Faulted, c.Message,
                    string.Join("; ", c.Message.Exceptions.Select(e => $"{e.ExceptionType}: {e.Message}"))));
                endpoint.Handler<PortalLinkCampaignCompleted>(c =>
                {
                    _completions.Enqueue(new CampaignCompletion(c.Message, c.MessageId, Stopwatch.GetTimestamp()));
                    return Task.CompletedTask;
                });
            }
            if (durableQueue is null)
                rabbit.ReceiveEndpoint(new TemporaryEndpointDefinition(), Handlers);
            else
                rabbit.ReceiveEndpoint(durableQueue, endpoint =>
                {
                    endpoint.Durable = true;
                    endpoint.AutoDelete = false;
                    Handlers(endpoint);
                });
        });
    }

    public IBus Bus => _bus;

    /// <summary>Starts an observer on <paramref name="rabbitMq"/>. With <paramref name="durableQueue"/> its queue survives
    /// a broker restart (the events published while the broker comes back still arrive) and is deleted on dispose;
    /// without, it is a temporary one.</summary>
    public static async Task<ObserverBus> StartAsync(string rabbitMq, OutcomeTracker? tracker = null,
        string? durableQueue = null, int? prefetchCount = null)
    {
        var observer = new ObserverBus(rabbitMq, durableQueue, prefetchCount) { _tracker = tracker };
        await observer._bus.StartAsync();
        return observer;
    }

    /// <summary>From now on, outcomes go to <paramref name="tracker"/> (null: nowhere).</summary>
    public void Track(OutcomeTracker? tracker) => _tracker = tracker;

    /// <summary>Every campaign completion seen, in arrival order.</summary>
    public IReadOnlyList<CampaignCompletion> Completions => [.. _completions];

    public IReadOnlyList<CampaignCompletion> CompletionsOf(Guid campaignId) =>
        [.. _completions.Where(c => c.Event.CampaignId == campaignId)];

    private Task Record(Guid requestId, OutcomeKind kind, object message, string? detail)
    {
        _tracker?.Record(requestId, kind, message, detail);
        return Task.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        await _bus.StopAsync();
        if (_durableQueue is null)
            return;
        await RawQueue.DeleteAsync(_rabbitMq, _durableQueue, exchangeToo: true);
    }
}
