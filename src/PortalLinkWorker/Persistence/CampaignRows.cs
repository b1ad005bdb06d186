using Npgsql;

namespace PortalLinkWorker.Persistence;

/// <summary>The one mapping of each campaign query's row, by column name (<see cref="CampaignStore"/>).</summary>
internal static class CampaignRows
{
    /// <summary>item_no, customer_id, expires_in, frame_ancestors, request_id of <c>portal_link_campaign_items</c>, and
    /// the campaign's reuse_if_valid_for.</summary>
    public static (CampaignEntry Entry, Guid RequestId) NotEnqueued(NpgsqlDataReader reader) =>
        (new CampaignEntry(reader.Get<int>("item_no"), reader.Get<string>("customer_id"), reader.GetOrNullValue<int>("expires_in"),
            reader.GetOrNull<string>("frame_ancestors"), reader.GetOrNullValue<int>("reuse_if_valid_for")), reader.Get<Guid>("request_id"));

    public static CampaignProgress Progress(NpgsqlDataReader reader) => new(
        reader.Get<Guid>("campaign_id"),
        reader.Get<string>("name"),
        reader.Get<int>("total"),
        reader.Get<int>("pending_count"),
        reader.Get<int>("generated_count"),
        reader.Get<int>("failed_count"),
        reader.Get<int>("not_enqueued"),
        reader.Get<int>("run"),
        reader.Get<DateTimeOffset>("created_at"),
        reader.GetOrNullValue<DateTimeOffset>("enqueued_at"),
        reader.GetOrNullValue<DateTimeOffset>("completed_at"),
        reader.GetOrNullValue<DateTimeOffset>("completion_published_at"),
        reader.Get<int>("finished"),
        reader.GetOrNullValue<double>("finished_span") ?? 0,
        reader.Get<int>("reused_count"));

    public static CampaignSummary Summary(NpgsqlDataReader reader) => new(
        reader.Get<Guid>("campaign_id"),
        reader.Get<string>("name"),
        reader.Get<bool>("completed"),
        reader.Get<int>("total"),
        reader.Get<int>("generated_count"),
        reader.Get<int>("failed_count"),
        reader.Get<DateTimeOffset>("created_at"));
}
