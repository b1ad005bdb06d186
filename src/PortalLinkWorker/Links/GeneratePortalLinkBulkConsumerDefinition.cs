using MassTransit;
using Microsoft.Extensions.Options;

namespace PortalLinkWorker.Links;

/// <summary>The endpoint rules of <see cref="GeneratePortalLinkBulkConsumer"/>: the campaign lane's queue, with a small
/// prefetch and concurrency so that campaign work waits in RabbitMQ, not in memory in front of live requests.</summary>
public sealed class GeneratePortalLinkBulkConsumerDefinition : ConsumerDefinition<GeneratePortalLinkBulkConsumer>
{
    /// <summary>The queue campaign items are sent to.</summary>
    public const string QueueName = "generate-portal-link-bulk";

    private readonly ConsumerOptions _options;

    public GeneratePortalLinkBulkConsumerDefinition(IOptions<ConsumerOptions> options)
    {
        _options = options.Value;
        EndpointName = QueueName;
        ConcurrentMessageLimit = _options.BulkConcurrentMessageLimit;
    }

    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpointConfigurator,
        IConsumerConfigurator<GeneratePortalLinkBulkConsumer> consumerConfigurator, IRegistrationContext context)
    {
        // Campaign items are sent to this queue directly. Without this, the queue would also be bound to the
        // GeneratePortalLink exchange and every published live request would be handled a second time, on the bulk lane.
        endpointConfigurator.ConfigureConsumeTopology = false;
        GeneratePortalLinkEndpoint.Configure(endpointConfigurator, context, _options.BulkPrefetchCount);
    }
}
