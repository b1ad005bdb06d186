using MassTransit;
using Microsoft.Extensions.Options;
using PortalLinkContracts;
using PortalLinkWorker.Links;
using PortalLinkWorker.Persistence;

namespace PortalLinkWorker.Campaigns;

/// <summary>
/// Starts a campaign, or finishes starting it: records the campaign and its items in batches, sends every item not yet
/// confirmed on the queue to <c>generate-portal-link-bulk</c>, marks the run enqueued. Each step is idempotent, so the
/// same start run again (same CampaignId) after a crash, a kill or a broker restart anywhere ends with each customer
/// recorded once and enqueued once; at worst an item sent just before the crash is sent again with the same RequestId,
/// which the consumer answers from its row. Used by the <see cref="StartPortalLinkCampaign"/> consumer and by the
/// <c>campaign start</c> and <c>campaign retry-failed</c> commands.
/// </summary>
public sealed partial class CampaignStarter(
    CampaignStore store,
    CampaignCompletion completion,
    IOptions<CampaignOptions> options,
    ILogger<CampaignStarter> logger)
{
    /// <summary>The queue campaign items travel on, behind live requests.</summary>
    public static readonly Uri BulkQueue = new($"queue:{GeneratePortalLinkBulkConsumerDefinition.QueueName}");

    /// <summary>Records (unless already recorded) and enqueues the campaign. <paramref name="entries"/> is read once,
    /// as a stream, and only when the campaign's items are not all recorded yet. <paramref name="progress"/> hears the
    /// number of items confirmed on the queue after each batch.</summary>
    public async Task<CampaignStartResult> StartAsync(CampaignDefinition campaign, IEnumerable<CampaignEntry> entries,
        ISendEndpointProvider sender, IPublishEndpoint publisher, Action<int>? progress, CancellationToken cancellationToken)
    {
        var recordedBefore = await store.CreateAsync(campaign, cancellationToken);
        var recorded = 0;
        if (!recordedBefore)
        {
            foreach (var batch in entries.Chunk(options.Value.BatchSize))
                recorded += await store.RecordItemsAsync(campaign.CampaignId, batch, cancellationToken);
            await store.MarkRecordedAsync(campaign.CampaignId, cancellationToken);
        }
        var enqueued = await EnqueueAsync(campaign.CampaignId, sender, publisher, progress, cancellationToken);
        LogStarted(logger, campaign.CampaignId, campaign.Name, recorded, enqueued, recordedBefore);
        return new CampaignStartResult(!recordedBefore, recorded, enqueued);
    }

    /// <summary>Sends every item whose current attempt is not confirmed on the queue, in batches: the batch is sent
    /// (each send completes on the broker's confirm), then marked. Then the run may complete.</summary>
    public async Task<int> EnqueueAsync(Guid campaignId, ISendEndpointProvider sender, IPublishEndpoint publisher,
        Action<int>? progress, CancellationToken cancellationToken)
    {
        var endpoint = await sender.GetSendEndpoint(BulkQueue);
        var enqueued = 0;
        var after = 0;
        while (true)
        {
            var batch = await store.NotEnqueuedAsync(campaignId, after, options.Value.BatchSize, cancellationToken);
            if (batch.Count == 0)
                break;
            await Task.WhenAll(batch.Select(item => endpoint.Send(
                new GeneratePortalLink(item.RequestId, item.Entry.CustomerId, item.Entry.ExpiresIn, item.Entry.FrameAncestors, campaignId,
                    item.Entry.ReuseIfValidFor),
                context => context.MessageId = item.RequestId, cancellationToken)));
            // Crash window: sent but not marked. The re-run sends these again; the consumer answers copies from the row.
            await store.MarkEnqueuedAsync(campaignId, batch, cancellationToken);
            enqueued += batch.Count;
            after = batch[^1].Entry.ItemNo;
            progress?.Invoke(enqueued);
        }
        if (await store.MarkEnqueuedAllAsync(campaignId, cancellationToken))
            await completion.PublishAsync(campaignId, publisher, skipLocked: false, cancellationToken);
        return enqueued;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Campaign {CampaignId} '{Name}': {Recorded} items recorded, {Enqueued} enqueued (already recorded before: {AlreadyRecorded})")]
    private static partial void LogStarted(ILogger logger, Guid campaignId, string name, int recorded, int enqueued, bool alreadyRecorded);
}
