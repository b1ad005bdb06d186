using MassTransit;
using PortalLinkContracts;

namespace PortalLinkWorker.Campaigns;

/// <summary>
/// validate → record the campaign and its items → enqueue each item on <c>generate-portal-link-bulk</c>. Idempotent by
/// CampaignId: a second copy, or the redelivery after a crash, records nothing twice and sends only what was not
/// confirmed on the queue. Each customer id is checked by the link consumer like any request: an invalid one fails as
/// <c>InvalidRequest</c> (a <c>PortalLinkFailed</c> with the CampaignId) and counts as failed.
/// </summary>
public sealed partial class StartPortalLinkCampaignConsumer(
    CampaignStarter starter,
    ILogger<StartPortalLinkCampaignConsumer> logger) : IConsumer<StartPortalLinkCampaign>
{
    public async Task Consume(ConsumeContext<StartPortalLinkCampaign> context)
    {
        var start = context.Message;
        if (start.CampaignId == Guid.Empty)
        {
            // Without its idempotency key a campaign cannot be recorded, nor started only once.
            LogNoCampaignId(logger, start.CustomerIds?.Length ?? 0);
            return;
        }
        var name = string.IsNullOrWhiteSpace(start.Name) ? start.CampaignId.ToString() : start.Name;
        var frameAncestors = string.IsNullOrEmpty(start.FrameAncestors) ? null : start.FrameAncestors;
        var entries = (start.CustomerIds ?? []).Select((customerId, i) =>
            new CampaignEntry(i + 1, customerId ?? "", start.ExpiresIn, frameAncestors));
        await starter.StartAsync(new CampaignDefinition(start.CampaignId, name, start.ExpiresIn, frameAncestors), entries,
            context, context, progress: null, context.CancellationToken);
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "StartPortalLinkCampaign without a CampaignId ({Customers} customers) ignored: the CampaignId is required")]
    private static partial void LogNoCampaignId(ILogger logger, int customers);
}
