using PortalLinkWorker.Links;

namespace PortalLinkWorker.Operations;

/// <summary>The queues the status page shows, in this order. A new consumer's queue (and its <c>_error</c> queue) is one
/// line here.</summary>
public static class MonitoredQueues
{
    public static readonly IReadOnlyList<string> Names =
    [
        GeneratePortalLinkConsumerDefinition.QueueName,
        GeneratePortalLinkConsumerDefinition.QueueName + "_error",
        GeneratePortalLinkBulkConsumerDefinition.QueueName,
        GeneratePortalLinkBulkConsumerDefinition.QueueName + "_error",
        Campaigns.StartPortalLinkCampaignConsumerDefinition.QueueName,
    ];
}
