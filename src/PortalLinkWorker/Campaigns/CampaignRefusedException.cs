namespace PortalLinkWorker.Campaigns;

/// <summary>A <c>StartPortalLinkCampaign</c> that cannot start as sent (no CampaignId, a bad name, too many customers, an
/// id PostgreSQL cannot store). Nothing is recorded; the message goes to the <c>_error</c> queue at once (no retry can
/// fix it) with this message as its reason, and a <c>Fault&lt;StartPortalLinkCampaign&gt;</c> is published.</summary>
public sealed class CampaignRefusedException(string reason) : Exception(reason);
