using MassTransit;

namespace PortalLinkWorker.Links;

/// <summary>Publishes a completed campaign run's event. The request handler calls it when the outcome it committed
/// finished a run; the campaign flow implements it (Campaigns is built on Links, so Links knows it only by this).</summary>
public interface ICampaignCompletion
{
    /// <summary>Publishes the completion of <paramref name="campaignId"/>'s current run unless it is not completed or
    /// already published; with <paramref name="skipLocked"/>, also leaves it to whoever is publishing it now. Returns
    /// whether this call published it.</summary>
    Task<bool> PublishAsync(Guid campaignId, IPublishEndpoint publisher, bool skipLocked, CancellationToken cancellationToken);
}
