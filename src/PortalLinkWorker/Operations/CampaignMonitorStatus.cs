using PortalLinkWorker.Campaigns;

namespace PortalLinkWorker.Operations;

/// <summary>The status page's campaigns: <see cref="CampaignMonitor"/>'s last reading.</summary>
public sealed class CampaignMonitorStatus(CampaignMonitor monitor) : CampaignStatusSource
{
    public override Task<IReadOnlyList<StatusSnapshot.CampaignRow>> ReadAsync(CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<StatusSnapshot.CampaignRow>>([.. monitor.Latest.Select(c => new StatusSnapshot.CampaignRow(
            c.CampaignId, c.Name, c.IsCompleted ? "completed" : "running", c.Total, c.Generated, c.Failed, c.CreatedAt))]);
}
