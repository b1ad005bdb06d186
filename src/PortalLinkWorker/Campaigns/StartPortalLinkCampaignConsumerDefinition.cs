using MassTransit;
using Microsoft.Extensions.Options;
using PortalLinkWorker.Input;

namespace PortalLinkWorker.Campaigns;

/// <summary>The endpoint rules of <see cref="StartPortalLinkCampaignConsumer"/>.</summary>
public sealed class StartPortalLinkCampaignConsumerDefinition : ConsumerDefinition<StartPortalLinkCampaignConsumer>
{
    /// <summary>The queue publishers may Send a <c>StartPortalLinkCampaign</c> to directly.</summary>
    public const string QueueName = "start-portal-link-campaign";

    /// <summary>Starts run one at a time per worker: a start is a long stream of database batches and sends, and two at
    /// once would only share the same connection pool and broker channel.</summary>
    private const int ConcurrentStarts = 1;

    private readonly CampaignOptions _options;

    public StartPortalLinkCampaignConsumerDefinition(IOptions<CampaignOptions> options)
    {
        _options = options.Value;
        EndpointName = QueueName;
        ConcurrentMessageLimit = ConcurrentStarts;
    }

    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpointConfigurator,
        IConsumerConfigurator<StartPortalLinkCampaignConsumer> consumerConfigurator, IRegistrationContext context)
    {
        if (endpointConfigurator is IRabbitMqReceiveEndpointConfigurator rabbit)
            rabbit.PrefetchCount = ConcurrentStarts;
        // Every step of a start is idempotent, so a retry after a database or broker blip picks up where it stopped. A
        // refused or unreadable start will not do better the second time.
        endpointConfigurator.UseMessageRetry(r =>
        {
            r.Intervals(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(15));
            r.Ignore<CampaignRefusedException>();
            r.Ignore<Exception>(Links.UnreadableRequestFilter.IsUnreadable);
        });
        // A body over the limit goes to the error queue (with a Fault) before it is deserialised.
        MessageSizeFilter.Configure(endpointConfigurator, _options.MaxMessageSize, $"{CampaignOptions.Section}:{nameof(CampaignOptions.MaxMessageSize)}",
            Pipe.New<ExceptionReceiveContext>(error =>
            {
                error.UseFilter(new MassTransit.Middleware.GenerateFaultFilter());
                error.UseFilter(new MassTransit.Middleware.ErrorTransportFilter());
            }),
            context.GetRequiredService<ILogger<MessageSizeFilter>>());
    }
}
