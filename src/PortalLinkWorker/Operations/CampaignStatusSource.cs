namespace PortalLinkWorker.Operations;

/// <summary>Where the status page's "Campaigns" section comes from. The default has none; the campaigns feature
/// registers its own (<c>services.AddSingleton&lt;CampaignStatusSource, …&gt;()</c>) reading its tables.</summary>
public abstract class CampaignStatusSource
{
    /// <summary>Campaigns worth showing (running, or finished recently), newest first.</summary>
    public abstract Task<IReadOnlyList<StatusSnapshot.CampaignRow>> ReadAsync(CancellationToken cancellationToken);

    /// <summary>No campaigns: the page shows an empty section.</summary>
    public sealed class None : CampaignStatusSource
    {
        public override Task<IReadOnlyList<StatusSnapshot.CampaignRow>> ReadAsync(CancellationToken cancellationToken) =>
            Task.FromResult<IReadOnlyList<StatusSnapshot.CampaignRow>>([]);
    }
}
