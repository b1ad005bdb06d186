using MassTransit;
using Microsoft.Extensions.Options;
using PortalLinkContracts;
using PortalLinkWorker.Links;
using PortalLinkWorker.Persistence;

namespace PortalLinkWorker.Campaigns;

/// <summary>
/// validate → record the campaign and its items → enqueue each item on <c>generate-portal-link-bulk</c>. Idempotent by
/// CampaignId: a second copy, or the redelivery after a crash, records nothing twice and sends only what was not
/// confirmed on the queue. Each customer id is checked by the link consumer like any request: an invalid one fails as
/// <c>InvalidRequest</c> (a <c>PortalLinkFailed</c> with the CampaignId) and counts as failed. A start that cannot be
/// recorded as sent (see <see cref="CampaignStartValidator"/>) is refused whole: <see cref="CampaignRefusedException"/>
/// takes it to the <c>_error</c> queue with its reason.
/// </summary>
public sealed partial class StartPortalLinkCampaignConsumer(
    CampaignStarter starter,
    IOptions<CampaignOptions> options,
    ILogger<StartPortalLinkCampaignConsumer> logger) : IConsumer<StartPortalLinkCampaign>
{
    public async Task Consume(ConsumeContext<StartPortalLinkCampaign> context)
    {
        var start = context.Message;
        if (CampaignStartValidator.Validate(start, options.Value.MaxCustomerIdsPerMessage) is { } refused)
        {
            // Without its idempotency key a campaign cannot be recorded, nor started only once; the other reasons would
            // fail the start halfway. Acknowledging would drop it unseen: the error queue keeps it with the reason.
            LogRefused(logger, refused);
            throw new CampaignRefusedException(refused);
        }
        var name = string.IsNullOrWhiteSpace(start.Name) ? start.CampaignId.ToString() : start.Name;
        var frameAncestors = string.IsNullOrEmpty(start.FrameAncestors) ? null : start.FrameAncestors;
        var entries = (start.CustomerIds ?? []).Select((customerId, i) =>
            new CampaignEntry(i + 1, CustomerIdEcho.Stored(customerId ?? ""), start.ExpiresIn, frameAncestors));
        await starter.StartAsync(new CampaignDefinition(start.CampaignId, name, start.ExpiresIn, frameAncestors, start.ReuseIfValidFor), entries,
            context, context, progress: null, context.CancellationToken);
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "StartPortalLinkCampaign refused, moved to the error queue: {Reason}")]
    private static partial void LogRefused(ILogger logger, string reason);
}
