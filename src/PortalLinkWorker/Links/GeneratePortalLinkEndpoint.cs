using MassTransit;
using Microsoft.Extensions.Options;
using PortalLinkWorker.Input;

namespace PortalLinkWorker.Links;

/// <summary>The rules both <c>GeneratePortalLink</c> endpoints share (live and bulk): the consumption switch, prefetch,
/// retries of our own failures, and the answer to unreadable requests.</summary>
public static class GeneratePortalLinkEndpoint
{
    public static void Configure(IReceiveEndpointConfigurator endpointConfigurator, IRegistrationContext context, int prefetchCount)
    {
        // Lets the switch stop this endpoint while Upflow calls are paused and start it again after.
        endpointConfigurator.ConnectReceiveEndpointObserver(context.GetRequiredService<ConsumptionSwitch>());
        if (endpointConfigurator is IRabbitMqReceiveEndpointConfigurator rabbit)
            rabbit.PrefetchCount = prefetchCount;

        // Upflow's failures are handled inside the call (Polly); what reaches this retry is our own side failing:
        // a database blip, a deadlock, a bug. Short waits only: a long in-memory retry holds the consumer slot and can
        // keep the endpoint from reconnecting after a broker restart (MassTransit issue 5692). After the last try the
        // message goes to the endpoint's _error queue with its exception.
        endpointConfigurator.UseMessageRetry(r =>
        {
            r.Intervals(TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(5));
            // A body that cannot be read will not read better the second time (nor a lone surrogate in it).
            r.Ignore<Exception>(UnreadableRequestFilter.IsUnreadable);
        });
        // A message with fields of the wrong type but a readable RequestId is answered with PortalLinkFailed instead of
        // going silently to the error queue.
        void ConfigureError(IPipeConfigurator<ExceptionReceiveContext> error) => UnreadableRequestFilter.Configure(error,
            context.GetRequiredService<TimeProvider>(), context.GetRequiredService<ILogger<UnreadableRequestFilter>>(),
            context.GetRequiredService<LinkOutcomes>());
        endpointConfigurator.ConfigureError(ConfigureError);
        // A body over the limit is refused before it is deserialised, and answered the same way.
        MessageSizeFilter.Configure(endpointConfigurator, context.GetRequiredService<IOptions<ConsumerOptions>>().Value.MaxMessageSize,
            $"{ConsumerOptions.Section}:{nameof(ConsumerOptions.MaxMessageSize)}", Pipe.New<ExceptionReceiveContext>(ConfigureError),
            context.GetRequiredService<ILogger<MessageSizeFilter>>());
    }
}
