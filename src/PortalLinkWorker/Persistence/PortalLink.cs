namespace PortalLinkWorker.Persistence;

/// <summary>One row of <c>portal_links</c>: a request and, once final, its outcome.</summary>
public sealed class PortalLink
{
    public Guid RequestId { get; set; }
    public string CustomerId { get; set; } = "";
    public string Status { get; set; } = PortalLinkStatus.Pending;

    /// <summary>The portal URL: a bearer credential. Never logged.</summary>
    public string? Url { get; set; }
    public DateTimeOffset? ExpiresAt { get; set; }
    public DateTimeOffset? GeneratedAt { get; set; }
    public Guid? CampaignId { get; set; }
    public string? FailureReason { get; set; }
    public string? FailureMessage { get; set; }
    public DateTimeOffset? FailedAt { get; set; }

    /// <summary>The lifetime asked for, in seconds, after defaulting.</summary>
    public int? ExpiresIn { get; set; }
    public string? FrameAncestors { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }

    public bool IsFinal => Status is PortalLinkStatus.Generated or PortalLinkStatus.Failed;
}
