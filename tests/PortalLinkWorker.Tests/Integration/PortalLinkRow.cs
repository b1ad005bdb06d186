namespace PortalLinkWorker.Tests.Integration;

/// <summary>The columns of a portal_links row the tests assert on, read as the database holds them.</summary>
public sealed record PortalLinkRow(string Status, string? Url, Guid? CampaignId, string? FailureReason);
