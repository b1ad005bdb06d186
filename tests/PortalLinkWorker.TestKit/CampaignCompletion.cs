using PortalLinkContracts;

namespace PortalLinkWorker.TestKit;

/// <summary>A <see cref="PortalLinkCampaignCompleted"/> as the observer bus received it: its message id (a duplicate
/// publish carries the same one) and when it arrived (a Stopwatch timestamp).</summary>
public sealed record CampaignCompletion(PortalLinkCampaignCompleted Event, Guid? MessageId, long At);
