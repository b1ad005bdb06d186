namespace PortalLinkWorker.Persistence;

/// <summary>What a campaign start says about the campaign as a whole.</summary>
public sealed record CampaignDefinition(Guid CampaignId, string Name, int? ExpiresIn, string? FrameAncestors);
