using MassTransit;
using PortalLinkWorker.Links;
using PortalLinkWorker.Persistence;

namespace PortalLinkWorker.Campaigns;

/// <summary>
/// Publishes a completed run's <see cref="PortalLinkContracts.PortalLinkCampaignCompleted"/> and records that it did,
/// like an outbox: the run's row is locked, the event published (publisher-confirmed), the row marked, then committed.
/// Whoever completes a run calls this at once; a sweep in every worker calls it for runs left unpublished (the worker
/// died after completing). A crash after the broker's confirm and before the commit publishes the event again, with the
/// same message id (derived from campaign and run).
/// </summary>
public sealed partial class CampaignCompletion(CampaignStore store, ILogger<CampaignCompletion> logger) : ICampaignCompletion
{
    public async Task<bool> PublishAsync(Guid campaignId, IPublishEndpoint publisher, bool skipLocked, CancellationToken cancellationToken)
    {
        await using var unpublished = await store.LockUnpublishedAsync(campaignId, skipLocked, cancellationToken);
        if (unpublished is null)
            return false;
        var (completed, run) = (unpublished.Event, unpublished.Run);
        await publisher.Publish(completed, context => context.MessageId = MessageId(campaignId, run), cancellationToken);
        await unpublished.MarkPublishedAsync(cancellationToken);
        LogPublished(logger, campaignId, completed.Name, run, completed.Total, completed.Generated, completed.Failed);
        return true;
    }

    /// <summary>The same for every publish of one run's completion, so subscribers can deduplicate by message id.</summary>
    public static Guid MessageId(Guid campaignId, int run) =>
        new(System.Security.Cryptography.MD5.HashData(System.Text.Encoding.UTF8.GetBytes($"{campaignId}/completed/{run}")));

    [LoggerMessage(Level = LogLevel.Information, Message = "Campaign {CampaignId} '{Name}' run {Run} completed: {Total} customers, {Generated} generated, {Failed} failed")]
    private static partial void LogPublished(ILogger logger, Guid campaignId, string name, int run, int total, int generated, int failed);
}
