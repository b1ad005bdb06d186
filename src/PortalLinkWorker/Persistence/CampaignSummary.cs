namespace PortalLinkWorker.Persistence;

/// <summary>A campaign as the status page and the campaign gauges show it: <see cref="Total"/> requests, of which
/// <see cref="Generated"/> and <see cref="Failed"/> have ended.</summary>
public sealed record CampaignSummary(Guid CampaignId, string Name, bool IsCompleted, int Total, int Generated, int Failed,
    DateTimeOffset CreatedAt);
