namespace PortalLinkWorker.Tests.Integration;

/// <summary>The columns of a portal_links row the tests assert on.</summary>
/// <remarks><see cref="Url"/> is the URL decrypted with the tests' key; <see cref="StoredUrl"/> is the column as stored
/// (encrypted).</remarks>
public sealed record PortalLinkRow(string Status, string? Url, Guid? CampaignId, string? FailureReason, string? StoredUrl);
