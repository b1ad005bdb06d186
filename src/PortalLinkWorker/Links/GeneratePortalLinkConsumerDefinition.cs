using MassTransit;
using Microsoft.Extensions.Options;

namespace PortalLinkWorker.Links;

/// <summary>The endpoint rules of <see cref="GeneratePortalLinkConsumer"/>: queue name, concurrency, retries.</summary>
public sealed class GeneratePortalLinkConsumerDefinition : ConsumerDefinition<GeneratePortalLinkConsumer>
{
    /// <summary>The queue publishers may Send to directly.</summary>
    public const string QueueName = "generate-portal-link";

    private readonly ConsumerOptions _options;

    public GeneratePortalLinkConsumerDefinition(IOptions<ConsumerOptions> options)
    {
        _options = options.Value;
        EndpointName = QueueName;
        ConcurrentMessageLimit = _options.ConcurrentMessageLimit;
    }

    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpointConfigurator,
        IConsumerConfigurator<GeneratePortalLinkConsumer> consumerConfigurator, IRegistrationContext context) =>
        GeneratePortalLinkEndpoint.Configure(endpointConfigurator, context, _options.PrefetchCount);
}
