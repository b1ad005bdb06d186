using Npgsql;
using NpgsqlTypes;

namespace PortalLinkWorker.Persistence;

/// <summary>
/// The statements of the campaign protocol (docs/design.md, "Campaigns"), each on a connection of the worker's
/// <see cref="NpgsqlDataSource"/> (the completion's transaction: <see cref="UnpublishedCompletion"/>). Counts live on the campaign row and change in the same transaction as the items they count, so they are
/// right at every commit; the campaign row's lock orders the transactions that finish items, so exactly one of them sees
/// the last pending item go and completes the run. An item's RequestId is computed by the database from campaign, item
/// and attempt (<c>md5(campaign/item/attempt)</c>): a re-run start or retry sends the very same request again, which the
/// consumer answers from its row.
/// </summary>
public sealed class CampaignStore(NpgsqlDataSource dataSource)
{
    /// <summary>Records the campaign unless it exists; returns whether every item was already recorded.</summary>
    public async Task<bool> CreateAsync(CampaignDefinition campaign, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("""
            INSERT INTO portal_link_campaigns (campaign_id, name, expires_in, frame_ancestors, reuse_if_valid_for, total, pending_count,
                generated_count, failed_count, run, created_at, updated_at)
            VALUES (@campaign, @name, @expiresIn, @frameAncestors, @reuseIfValidFor, 0, 0, 0, 0, 1, clock_timestamp(), clock_timestamp())
            ON CONFLICT (campaign_id) DO NOTHING;
            SELECT recorded_at IS NOT NULL FROM portal_link_campaigns WHERE campaign_id = @campaign;
            """);
        command.Parameters.AddWithValue("campaign", campaign.CampaignId);
        command.Parameters.AddWithValue("name", campaign.Name);
        command.Parameters.Add(new NpgsqlParameter<int?>("expiresIn", NpgsqlDbType.Integer) { TypedValue = campaign.ExpiresIn });
        command.Parameters.Add(new NpgsqlParameter<string?>("frameAncestors", NpgsqlDbType.Text) { TypedValue = campaign.FrameAncestors });
        command.Parameters.Add(new NpgsqlParameter<int?>("reuseIfValidFor", NpgsqlDbType.Integer) { TypedValue = campaign.ReuseIfValidFor });
        return (bool)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    /// <summary>Records a batch of items (those already there are left alone) and counts the new ones as pending, in one
    /// transaction: a start interrupted anywhere and run again ends with each item recorded and counted once.</summary>
    public async Task<int> RecordItemsAsync(Guid campaignId, IReadOnlyList<CampaignEntry> batch, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand($"""
            WITH added AS (
                INSERT INTO portal_link_campaign_items (campaign_id, item_no, customer_id, expires_in, frame_ancestors,
                    request_id, attempt, status, enqueued, updated_at)
                SELECT @campaign, e.item_no, e.customer_id, e.expires_in, e.frame_ancestors,
                       md5(@campaign::text || '/' || e.item_no::text || '/0')::uuid, 0, '{PortalLinkStatus.Pending}', false, clock_timestamp()
                FROM unnest(@itemNos, @customerIds, @expiresIns, @frameAncestors) AS e(item_no, customer_id, expires_in, frame_ancestors)
                ON CONFLICT (campaign_id, item_no) DO NOTHING
                RETURNING 1)
            UPDATE portal_link_campaigns
            SET total = total + (SELECT count(*) FROM added), pending_count = pending_count + (SELECT count(*) FROM added),
                updated_at = clock_timestamp()
            WHERE campaign_id = @campaign
            RETURNING (SELECT count(*) FROM added)::int;
            """);
        command.Parameters.AddWithValue("campaign", campaignId);
        command.Parameters.AddWithValue("itemNos", batch.Select(e => e.ItemNo).ToArray());
        command.Parameters.AddWithValue("customerIds", batch.Select(e => e.CustomerId).ToArray());
        command.Parameters.Add(new NpgsqlParameter("expiresIns", NpgsqlDbType.Array | NpgsqlDbType.Integer)
            { Value = batch.Select(e => e.ExpiresIn).ToArray() });
        command.Parameters.Add(new NpgsqlParameter("frameAncestors", NpgsqlDbType.Array | NpgsqlDbType.Text)
            { Value = batch.Select(e => e.FrameAncestors).ToArray() });
        return (int)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    public async Task MarkRecordedAsync(Guid campaignId, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            "UPDATE portal_link_campaigns SET recorded_at = coalesce(recorded_at, clock_timestamp()), updated_at = clock_timestamp() WHERE campaign_id = @campaign");
        command.Parameters.AddWithValue("campaign", campaignId);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>The next items whose current attempt is not yet confirmed on the queue, in item order.</summary>
    public async Task<IReadOnlyList<(CampaignEntry Entry, Guid RequestId)>> NotEnqueuedAsync(Guid campaignId, int afterItemNo, int limit,
        CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("""
            SELECT i.item_no, i.customer_id, i.expires_in, i.frame_ancestors, i.request_id, c.reuse_if_valid_for
            FROM portal_link_campaign_items i JOIN portal_link_campaigns c ON c.campaign_id = i.campaign_id
            WHERE i.campaign_id = @campaign AND NOT i.enqueued AND i.item_no > @after
            ORDER BY i.item_no LIMIT @limit
            """);
        command.Parameters.AddWithValue("campaign", campaignId);
        command.Parameters.AddWithValue("after", afterItemNo);
        command.Parameters.AddWithValue("limit", limit);
        var items = new List<(CampaignEntry, Guid)>(limit);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
            items.Add(CampaignRows.NotEnqueued(reader));
        return items;
    }

    /// <summary>Marks items as on the queue, after the broker confirmed them; an item retried meanwhile (another
    /// RequestId) is left unmarked.</summary>
    public async Task MarkEnqueuedAsync(Guid campaignId, IReadOnlyList<(CampaignEntry Entry, Guid RequestId)> items,
        CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("""
            UPDATE portal_link_campaign_items i SET enqueued = true, updated_at = clock_timestamp()
            FROM unnest(@itemNos, @requestIds) AS s(item_no, request_id)
            WHERE i.campaign_id = @campaign AND i.item_no = s.item_no AND i.request_id = s.request_id
            """);
        command.Parameters.AddWithValue("campaign", campaignId);
        command.Parameters.AddWithValue("itemNos", items.Select(i => i.Entry.ItemNo).ToArray());
        command.Parameters.AddWithValue("requestIds", items.Select(i => i.RequestId).ToArray());
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Every item of the run is on the queue: from now on the run can complete, and it completes here when
    /// its items were all final already. Returns whether the run is completed and its event not yet published.</summary>
    public async Task<bool> MarkEnqueuedAllAsync(Guid campaignId, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("""
            UPDATE portal_link_campaigns
            SET enqueued_at = coalesce(enqueued_at, clock_timestamp()),
                completed_at = CASE WHEN completed_at IS NULL AND pending_count = 0 THEN clock_timestamp() ELSE completed_at END,
                updated_at = clock_timestamp()
            WHERE campaign_id = @campaign
            RETURNING completed_at IS NOT NULL AND completion_published_at IS NULL
            """);
        command.Parameters.AddWithValue("campaign", campaignId);
        return await command.ExecuteScalarAsync(cancellationToken) is true;
    }

    /// <summary>
    /// Inside the transaction that saves a request's outcome: when the request is the current attempt of a campaign
    /// item, the item takes the outcome and the campaign's counts move with it; the transaction that finishes the last
    /// pending item of a fully enqueued run sets <c>completed_at</c>. The campaign row is updated under its row lock, and
    /// PostgreSQL re-reads the row after a concurrent transaction commits, so two items finishing at once never both
    /// miss, nor both see, the end. Sent in the batch that commits the outcome (<see cref="PortalLinkStore.CommitAsync"/>).
    /// </summary>
    public static NpgsqlBatchCommand RecordOutcomeCommand(Guid requestId, string status, bool reused = false) => new($"""
        WITH item AS (
            UPDATE portal_link_campaign_items SET status = $2, updated_at = clock_timestamp()
            WHERE request_id = $1 AND status = '{PortalLinkStatus.Pending}'
            RETURNING campaign_id)
        UPDATE portal_link_campaigns c
        SET pending_count = c.pending_count - 1,
            generated_count = c.generated_count + CASE WHEN $2 = '{PortalLinkStatus.Generated}' THEN 1 ELSE 0 END,
            failed_count = c.failed_count + CASE WHEN $2 = '{PortalLinkStatus.Failed}' THEN 1 ELSE 0 END,
            reused_count = c.reused_count + CASE WHEN $3 THEN 1 ELSE 0 END,
            completed_at = CASE WHEN c.pending_count = 1 AND c.enqueued_at IS NOT NULL AND c.completed_at IS NULL
                                THEN clock_timestamp() ELSE c.completed_at END,
            updated_at = clock_timestamp()
        FROM item WHERE c.campaign_id = item.campaign_id
        RETURNING c.campaign_id, c.pending_count = 0 AND c.completed_at IS NOT NULL AND c.completion_published_at IS NULL AS completed_now
        """)
    {
        Parameters =
        {
            new NpgsqlParameter<Guid> { TypedValue = requestId },
            new NpgsqlParameter<string> { TypedValue = status },
            new NpgsqlParameter<bool> { TypedValue = reused },
        },
    };

    /// <summary>Reads the row <see cref="RecordOutcomeCommand"/> returns: the campaign when it completed its run.</summary>
    public static Guid? ReadCompleted(NpgsqlDataReader reader) =>
        reader.Get<bool>("completed_now") ? reader.Get<Guid>("campaign_id") : null;

    /// <summary>Starts a new run with the failed items: each gets its next attempt (a new RequestId), pending and not
    /// enqueued, and the counts move from failed to pending in the same transaction. Returns how many.</summary>
    public async Task<int> RetryFailedAsync(Guid campaignId, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand($"""
            WITH reset AS (
                UPDATE portal_link_campaign_items
                SET attempt = attempt + 1,
                    request_id = md5(campaign_id::text || '/' || item_no::text || '/' || (attempt + 1)::text)::uuid,
                    status = '{PortalLinkStatus.Pending}', enqueued = false, updated_at = clock_timestamp()
                WHERE campaign_id = @campaign AND status = '{PortalLinkStatus.Failed}'
                RETURNING 1)
            UPDATE portal_link_campaigns
            SET failed_count = failed_count - (SELECT count(*) FROM reset),
                pending_count = pending_count + (SELECT count(*) FROM reset),
                run = run + 1, enqueued_at = NULL, completed_at = NULL, completion_published_at = NULL,
                updated_at = clock_timestamp()
            WHERE campaign_id = @campaign AND (SELECT count(*) FROM reset) > 0
            RETURNING (SELECT count(*) FROM reset)::int
            """);
        command.Parameters.AddWithValue("campaign", campaignId);
        return await command.ExecuteScalarAsync(cancellationToken) is int retried ? retried : 0;
    }

    public async Task<CampaignProgress?> ProgressAsync(Guid campaignId, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand($"""
            SELECT c.campaign_id, c.name, c.total, c.pending_count, c.generated_count, c.failed_count, c.reused_count,
                   (SELECT count(*) FROM portal_link_campaign_items i WHERE i.campaign_id = c.campaign_id AND NOT i.enqueued)::int AS not_enqueued,
                   c.run, c.created_at, c.enqueued_at, c.completed_at, c.completion_published_at,
                   r.finished, extract(epoch FROM clock_timestamp() - r.since)::float8 AS finished_span
            FROM portal_link_campaigns c,
                 LATERAL (SELECT count(*)::int AS finished, min(l.updated_at) AS since FROM portal_links l
                          WHERE l.campaign_id = c.campaign_id AND l.status <> '{PortalLinkStatus.Pending}'
                            AND l.updated_at > clock_timestamp() - interval '1 minute') r
            WHERE c.campaign_id = @campaign
            """);
        command.Parameters.AddWithValue("campaign", campaignId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? CampaignRows.Progress(reader) : null;
    }

    /// <summary>The campaigns running or finished in the last day, newest first, at most <paramref name="limit"/>.</summary>
    public async Task<IReadOnlyList<CampaignSummary>> RecentAsync(int limit, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("""
            SELECT campaign_id, name, total, generated_count, failed_count, created_at, completed_at IS NOT NULL AS completed
            FROM portal_link_campaigns
            WHERE completed_at IS NULL OR completed_at > clock_timestamp() - interval '1 day'
            ORDER BY created_at DESC
            LIMIT @limit
            """);
        command.Parameters.AddWithValue("limit", limit);
        var rows = new List<CampaignSummary>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
            rows.Add(CampaignRows.Summary(reader));
        return rows;
    }

    /// <summary>Campaigns whose run completed at least <paramref name="olderThan"/> ago without its event published.</summary>
    public async Task<IReadOnlyList<Guid>> UnpublishedCompletionsAsync(TimeSpan olderThan, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("""
            SELECT campaign_id FROM portal_link_campaigns
            WHERE completed_at IS NOT NULL AND completion_published_at IS NULL AND completed_at < clock_timestamp() - @olderThan
            ORDER BY completed_at LIMIT 100
            """);
        command.Parameters.AddWithValue("olderThan", olderThan);
        var ids = new List<Guid>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
            ids.Add(reader.Get<Guid>("campaign_id"));
        return ids;
    }

    /// <summary>Opens a transaction that locks <paramref name="campaignId"/>'s completed run whose event is not published
    /// yet; null (and no transaction) when it is not completed, already published, or — with <paramref name="skipLocked"/> —
    /// being published by someone else.</summary>
    public Task<UnpublishedCompletion?> LockUnpublishedAsync(Guid campaignId, bool skipLocked, CancellationToken cancellationToken) =>
        UnpublishedCompletion.LockAsync(dataSource, campaignId, skipLocked, cancellationToken);
}
