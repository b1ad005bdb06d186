namespace PortalLinkWorker.Campaigns;

/// <summary>What a (re-)start did: whether it recorded the items (false: a previous start had), how many it recorded
/// and how many it sent to the queue.</summary>
public sealed record CampaignStartResult(bool Recorded, int ItemsRecorded, int ItemsEnqueued);
