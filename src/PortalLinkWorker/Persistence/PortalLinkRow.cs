using Npgsql;

namespace PortalLinkWorker.Persistence;

/// <summary>The one mapping of a <c>portal_links</c> row to <see cref="PortalLink"/>, by column name. <c>url</c> is read as
/// stored (encrypted); <see cref="PortalLinkStore"/> decrypts it.</summary>
public static class PortalLinkRow
{
    public const string Columns =
        "request_id, customer_id, status, url, expires_at, generated_at, campaign_id, failure_reason, failure_message, failed_at, " +
        "expires_in, frame_ancestors, reuse_if_valid_for, reused_from, url_erased_at, created_at, updated_at";

    public static PortalLink Read(NpgsqlDataReader reader) => new()
    {
        RequestId = reader.Get<Guid>("request_id"),
        CustomerId = reader.Get<string>("customer_id"),
        Status = reader.Get<string>("status"),
        Url = reader.GetOrNull<string>("url"),
        ExpiresAt = reader.GetOrNullValue<DateTimeOffset>("expires_at"),
        GeneratedAt = reader.GetOrNullValue<DateTimeOffset>("generated_at"),
        CampaignId = reader.GetOrNullValue<Guid>("campaign_id"),
        FailureReason = reader.GetOrNull<string>("failure_reason"),
        FailureMessage = reader.GetOrNull<string>("failure_message"),
        FailedAt = reader.GetOrNullValue<DateTimeOffset>("failed_at"),
        ExpiresIn = reader.GetOrNullValue<int>("expires_in"),
        FrameAncestors = reader.GetOrNull<string>("frame_ancestors"),
        ReuseIfValidFor = reader.GetOrNullValue<int>("reuse_if_valid_for"),
        ReusedFrom = reader.GetOrNullValue<Guid>("reused_from"),
        UrlErasedAt = reader.GetOrNullValue<DateTimeOffset>("url_erased_at"),
        CreatedAt = reader.Get<DateTimeOffset>("created_at"),
        UpdatedAt = reader.Get<DateTimeOffset>("updated_at"),
    };
}
