using MassTransit;

namespace PortalLinkWorker.Campaigns;

/// <summary>The endpoint rules of <see cref="StartPortalLinkCampaignConsumer"/>.</summary>
public sealed class StartPortalLinkCampaignConsumerDefinition : ConsumerDefinition<StartPortalLinkCampaignConsumer>
{
    /// <summary>The queue publishers may Send a <c>StartPortalLinkCampaign</c> to directly.</summary>
    public const string QueueName = "start-portal-link-campaign";

    /// <summary>Starts run one at a time per worker: a start is a long stream of database batches and sends, and two at
    /// once would only share the same connection pool and broker channel.</summary>
    private const int ConcurrentStarts = 1;

    public StartPortalLinkCampaignConsumerDefinition()
    {
        EndpointName = QueueName;
        ConcurrentMessageLimit = ConcurrentStarts;
    }

    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpointConfigurator,
        IConsumerConfigurator<StartPortalLinkCampaignConsumer> consumerConfigurator, IRegistrationContext context)
    {
        if (endpointConfigurator is IRabbitMqReceiveEndpointConfigurator rabbit)
            rabbit.PrefetchCount = ConcurrentStarts;
        // Every step of a start is idempotent, so a retry after a database or broker blip picks up where it stopped.
        endpointConfigurator.UseMessageRetry(r => r.Intervals(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(15)));
    }
}
