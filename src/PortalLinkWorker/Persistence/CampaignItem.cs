namespace PortalLinkWorker.Persistence;

/// <summary>One row of <c>portal_link_campaign_items</c>: one customer of a campaign and its current attempt.</summary>
public sealed class CampaignItem
{
    public Guid CampaignId { get; set; }

    /// <summary>1-based position in the campaign (the CSV's data row, or the index in the message's list).</summary>
    public int ItemNo { get; set; }
    public string CustomerId { get; set; } = "";
    public int? ExpiresIn { get; set; }
    public string? FrameAncestors { get; set; }

    /// <summary>The RequestId of the current attempt, derived from campaign, item and attempt
    /// (<c>CampaignRequestIds</c>), so that a re-run start or retry sends the same request again, never a new one.</summary>
    public Guid RequestId { get; set; }
    public int Attempt { get; set; }

    /// <summary><c>pending</c> | <c>generated</c> | <c>failed</c>: the outcome of the current attempt.</summary>
    public string Status { get; set; } = PortalLinkStatus.Pending;

    /// <summary>The current attempt's message was confirmed by the broker.</summary>
    public bool Enqueued { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
}
