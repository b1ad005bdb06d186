using System.Data.Common;
using Npgsql;
using NpgsqlTypes;

namespace PortalLinkWorker.Persistence;

/// <summary>
/// A request's transaction on a connection of the worker's <see cref="NpgsqlDataSource"/>: <see cref="BeginAsync"/>
/// (BEGIN, record the request as pending unless its RequestId is known, lock its row, lock its customer) and
/// <see cref="CommitAsync"/> (save the outcome, move the campaign's counts, COMMIT), one round trip each. A transaction
/// left open by a failure is rolled back by <see cref="RollbackIfOpenAsync"/>.
/// BEGIN and COMMIT are statements of the batches, not an <see cref="NpgsqlTransaction"/>: Npgsql sends a transaction's
/// commit as a round trip of its own, and that third round trip cost 8.6 % of the worker's CPU samples at 32 requests in
/// flight (bench/results/throughput-ab-14-16/profile.md).
/// URLs are encrypted as they are written and decrypted as they are read (<see cref="UrlProtector"/>): the rows never hold
/// one in clear, and the rest of the worker never sees one encrypted.
/// </summary>
public sealed class PortalLinkStore(NpgsqlDataSource dataSource, UrlProtector protector) : IAsyncDisposable
{
    /// <summary>Keeps the customer locks apart from any other advisory locks in the same database.</summary>
    private const long CustomerLockSeed = 0x506f7274616c;

    /// <summary>The connection while a transaction of this store is open.</summary>
    private NpgsqlConnection? _open;

    /// <summary>
    /// Opens the request's transaction and returns its row, locked until <see cref="CommitAsync"/> or
    /// <see cref="RollbackAsync"/>: a second copy of the same request waits (at the insert or the row lock) until the first one's
    /// transaction ends, then sees its outcome, so two copies never both call Upflow. With <paramref name="lockCustomer"/>
    /// a transaction-scoped advisory lock on the customer follows: a request for the same customer, in this process or
    /// another replica, waits until this transaction ends, or the session does on a crash. Always row first, then
    /// customer, so two transactions never wait for each other in a cycle; hash collisions only make two customers wait
    /// for each other now and then. The pending row is part of the transaction: a crash leaves nothing behind, and the
    /// redelivered message records it again.
    /// </summary>
    public async Task<PortalLink> BeginAsync(PortalLink pending, bool lockCustomer, CancellationToken cancellationToken)
    {
        if (_open is not null)
            throw new InvalidOperationException("A request transaction is already open on this scope.");
        var connection = _open = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var batch = new NpgsqlBatch(connection);
        batch.BatchCommands.Add(new NpgsqlBatchCommand("BEGIN"));
        batch.BatchCommands.Add(InsertPending(pending));
        // The only statement of the batch that returns rows before the lock's: the first result is the row.
        batch.BatchCommands.Add(new NpgsqlBatchCommand($"SELECT {PortalLinkRow.Columns} FROM portal_links WHERE request_id = $1 FOR UPDATE")
            { Parameters = { new NpgsqlParameter<Guid> { TypedValue = pending.RequestId } } });
        if (lockCustomer)
            batch.BatchCommands.Add(new NpgsqlBatchCommand("SELECT pg_advisory_xact_lock(hashtextextended($1, $2))")
            {
                Parameters =
                {
                    new NpgsqlParameter<string> { TypedValue = pending.CustomerId },
                    new NpgsqlParameter<long> { TypedValue = CustomerLockSeed },
                },
            });
        PortalLink? link = null;
        await using (var reader = await batch.ExecuteReaderAsync(cancellationToken))
        {
            if (await reader.ReadAsync(cancellationToken))
                link = Revealed(PortalLinkRow.Read(reader));
            // The customer lock's result: read to the end, so the lock is known to be held when this returns.
            while (await reader.NextResultAsync(cancellationToken))
                while (await reader.ReadAsync(cancellationToken))
                {
                }
        }
        return link ?? throw new InvalidOperationException($"The row of request {pending.RequestId} is missing after its insert.");
    }

    /// <summary>In the open transaction, with the customer locked: the link generated for <paramref name="link"/>'s
    /// customer, with the same FrameAncestors, that stays valid longest, if it stays valid until at least
    /// <paramref name="validUntil"/> and its URL is still stored and readable. The customer lock makes a second request
    /// for the customer wait until the first one's link is committed, so two racing requests make one Upflow call at
    /// most and the second reuses the first's link.</summary>
    public async Task<PortalLink?> FindReusableAsync(PortalLink link, DateTimeOffset validUntil, CancellationToken cancellationToken)
    {
        var connection = _open ?? throw new InvalidOperationException("No request transaction is open.");
        await using var command = new NpgsqlCommand($"""
            SELECT {PortalLinkRow.Columns} FROM portal_links
            WHERE customer_id = $1 AND status = '{PortalLinkStatus.Generated}' AND url IS NOT NULL
              AND frame_ancestors IS NOT DISTINCT FROM $2 AND expires_at >= $3 AND request_id <> $4
            ORDER BY expires_at DESC
            LIMIT 1
            """, connection)
        {
            Parameters =
            {
                new NpgsqlParameter<string> { TypedValue = link.CustomerId },
                Sql.Nullable(link.FrameAncestors, NpgsqlDbType.Text),
                new NpgsqlParameter<DateTimeOffset> { TypedValue = validUntil },
                new NpgsqlParameter<Guid> { TypedValue = link.RequestId },
            },
        };
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
            return null;
        var found = PortalLinkRow.Read(reader);
        try
        {
            return Revealed(found);
        }
        catch (UrlProtectionException)
        {
            // Encrypted under a key no longer in Database:UrlKeys: not reusable, a new link is made.
            return null;
        }
    }

    /// <summary>Saves the row's outcome, moves its campaign's counts when it is a campaign item, and commits. Returns the
    /// campaign this outcome completed, if any.</summary>
    public async Task<Guid?> CommitAsync(PortalLink link, CancellationToken cancellationToken)
    {
        var connection = _open ?? throw new InvalidOperationException("No request transaction is open.");
        await using var batch = new NpgsqlBatch(connection);
        batch.BatchCommands.Add(new NpgsqlBatchCommand("""
            UPDATE portal_links SET status = $2, url = $3, expires_at = $4, generated_at = $5, failure_reason = $6,
                failure_message = $7, failed_at = $8, updated_at = $9, reused_from = $10
            WHERE request_id = $1
            """)
        {
            Parameters =
            {
                new NpgsqlParameter<Guid> { TypedValue = link.RequestId },
                new NpgsqlParameter<string> { TypedValue = link.Status },
                Sql.Nullable(link.Url is null ? null : protector.Protect(link.Url, link.RequestId), NpgsqlDbType.Text),
                Sql.Nullable(link.ExpiresAt, NpgsqlDbType.TimestampTz),
                Sql.Nullable(link.GeneratedAt, NpgsqlDbType.TimestampTz),
                Sql.Nullable(link.FailureReason, NpgsqlDbType.Text),
                Sql.Nullable(link.FailureMessage, NpgsqlDbType.Text),
                Sql.Nullable(link.FailedAt, NpgsqlDbType.TimestampTz),
                new NpgsqlParameter<DateTimeOffset> { TypedValue = link.UpdatedAt },
                Sql.Nullable(link.ReusedFrom, NpgsqlDbType.Uuid),
            },
        });
        Guid? completed = null;
        if (link.CampaignId is not null)
            batch.BatchCommands.Add(CampaignStore.RecordOutcomeCommand(link.RequestId, link.Status, reused: link.ReusedFrom is not null));
        batch.BatchCommands.Add(new NpgsqlBatchCommand("COMMIT"));
        await using (var reader = await batch.ExecuteReaderAsync(cancellationToken))
        {
            // The UPDATE returns no rows: the first result, when there is one, is the campaign's.
            if (link.CampaignId is not null && await reader.ReadAsync(cancellationToken))
                completed = CampaignStore.ReadCompleted(reader);
        }
        await CloseAsync();
        return completed;
    }

    /// <summary>Ends the transaction without an outcome (nothing of it is kept). <paramref name="keepPending"/>, when given,
    /// is then recorded on its own, so a request that waits in the queue is visible as <c>pending</c>.</summary>
    public async Task RollbackAsync(PortalLink? keepPending, CancellationToken cancellationToken)
    {
        var connection = _open ?? throw new InvalidOperationException("No request transaction is open.");
        await using var batch = new NpgsqlBatch(connection) { BatchCommands = { new NpgsqlBatchCommand("ROLLBACK") } };
        if (keepPending is not null)
            batch.BatchCommands.Add(InsertPending(keepPending));
        await batch.ExecuteNonQueryAsync(cancellationToken);
        await CloseAsync();
    }

    /// <summary>Rolls back a transaction a failure left open, or drops the connection when that fails too (PostgreSQL
    /// then rolls it back with the session). Does nothing when no transaction is open.</summary>
    public async Task RollbackIfOpenAsync()
    {
        if (_open is not { } connection)
            return;
        try
        {
            await using var rollback = new NpgsqlCommand("ROLLBACK", connection);
            await rollback.ExecuteNonQueryAsync();
        }
        catch (Exception e) when (e is DbException or InvalidOperationException)
        {
            // A broken connection is not returned to the pool; PostgreSQL ends the transaction with the session.
        }
        await CloseAsync();
    }

    public async ValueTask DisposeAsync() => await RollbackIfOpenAsync();

    /// <summary>Gives the connection back to the pool.</summary>
    private async Task CloseAsync()
    {
        if (_open is not { } connection)
            return;
        _open = null;
        await connection.DisposeAsync();
    }

    private static NpgsqlBatchCommand InsertPending(PortalLink link) => new("""
        INSERT INTO portal_links (request_id, customer_id, status, campaign_id, expires_in, frame_ancestors, reuse_if_valid_for,
            created_at, updated_at)
        VALUES ($1, $2, $3, $4, $5, $6, $8, $7, $7)
        ON CONFLICT (request_id) DO NOTHING
        """)
    {
        Parameters =
        {
            new NpgsqlParameter<Guid> { TypedValue = link.RequestId },
            new NpgsqlParameter<string> { TypedValue = link.CustomerId },
            new NpgsqlParameter<string> { TypedValue = PortalLinkStatus.Pending },
            Sql.Nullable(link.CampaignId, NpgsqlDbType.Uuid),
            Sql.Nullable(link.ExpiresIn, NpgsqlDbType.Integer),
            Sql.Nullable(link.FrameAncestors, NpgsqlDbType.Text),
            new NpgsqlParameter<DateTimeOffset> { TypedValue = link.CreatedAt },
            Sql.Nullable(link.ReuseIfValidFor, NpgsqlDbType.Integer),
        },
    };

    /// <summary>The row with its URL decrypted (a clear value stored before encryption passes as it is).</summary>
    /// <exception cref="UrlProtectionException">The URL is encrypted under a key not in <c>Database:UrlKeys</c>, or altered.</exception>
    private PortalLink Revealed(PortalLink row)
    {
        if (row.Url is not null)
            row.Url = protector.Read(row.Url, row.RequestId);
        return row;
    }
}
