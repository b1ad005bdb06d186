namespace PortalLinkWorker.Persistence;

/// <summary>One row of <c>portal_links</c>: a request and, once final, its outcome.</summary>
public sealed class PortalLink
{
    public Guid RequestId { get; set; }
    public string CustomerId { get; set; } = "";
    public string Status { get; set; } = PortalLinkStatus.Pending;

    /// <summary>The portal URL: a bearer credential. Never logged. In memory it is the URL itself; in the column it is
    /// encrypted (see Database:UrlKeys), and null once erased.</summary>
    public string? Url { get; set; }
    /// <summary>The request's <c>ReuseIfValidFor</c>, in seconds: null when it asked for a new link in any case.</summary>
    public int? ReuseIfValidFor { get; set; }
    /// <summary>The request whose link this one answered again instead of calling Upflow (the first request that got it
    /// from Upflow); null when Upflow issued the link for this request.</summary>
    public Guid? ReusedFrom { get; set; }
    /// <summary>When the retention sweep erased the URL (the row stays for the record).</summary>
    public DateTimeOffset? UrlErasedAt { get; set; }
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
