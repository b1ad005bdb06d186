using System.Data.Common;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using NpgsqlTypes;

namespace PortalLinkWorker.Persistence;

/// <summary>
/// A request's transaction in two round trips to PostgreSQL, on the scope's <see cref="PortalLinkDbContext"/> connection:
/// <see cref="BeginAsync"/> (BEGIN, record the request as pending unless its RequestId is known, lock its row, lock its
/// customer) and <see cref="CommitAsync"/> (save the outcome, move the campaign's counts, COMMIT). The transaction is
/// plain SQL sent in the same batches, not an <c>NpgsqlTransaction</c>, which would cost a round trip of its own for the
/// COMMIT. A transaction left open by a failure is rolled back by <see cref="RollbackIfOpenAsync"/>.
/// </summary>
public sealed class PortalLinkStore(PortalLinkDbContext db) : IAsyncDisposable
{
    /// <summary>Keeps the customer locks apart from any other advisory locks in the same database.</summary>
    private const long CustomerLockSeed = 0x506f7274616c;

    private const string Columns =
        "customer_id, status, url, expires_at, generated_at, campaign_id, failure_reason, failure_message, failed_at, " +
        "expires_in, frame_ancestors, created_at, updated_at";

    /// <summary>The connection while a transaction of this store is open on it.</summary>
    private NpgsqlConnection? _inTransaction;

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
        if (_inTransaction is not null)
            throw new InvalidOperationException("A request transaction is already open on this scope.");
        await db.Database.OpenConnectionAsync(cancellationToken);
        var connection = (NpgsqlConnection)db.Database.GetDbConnection();
        await using var batch = new NpgsqlBatch(connection);
        batch.BatchCommands.Add(new NpgsqlBatchCommand("BEGIN"));
        batch.BatchCommands.Add(InsertPending(pending));
        batch.BatchCommands.Add(new NpgsqlBatchCommand($"SELECT {Columns} FROM portal_links WHERE request_id = $1 FOR UPDATE")
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
        _inTransaction = connection;
        PortalLink? link = null;
        await using (var reader = await batch.ExecuteReaderAsync(cancellationToken))
        {
            do
            {
                if (link is null && reader.FieldCount > 1 && await reader.ReadAsync(cancellationToken))
                    link = Read(reader, pending.RequestId);
            } while (await reader.NextResultAsync(cancellationToken));
        }
        return link ?? throw new InvalidOperationException($"The row of request {pending.RequestId} is missing after its insert.");
    }

    /// <summary>Saves the row's outcome, moves its campaign's counts when it is a campaign item, and commits, in one round
    /// trip. Returns the campaign this outcome completed, if any.</summary>
    public async Task<Guid?> CommitAsync(PortalLink link, CancellationToken cancellationToken)
    {
        var connection = _inTransaction ?? throw new InvalidOperationException("No request transaction is open.");
        await using var batch = new NpgsqlBatch(connection);
        batch.BatchCommands.Add(new NpgsqlBatchCommand("""
            UPDATE portal_links SET status = $2, url = $3, expires_at = $4, generated_at = $5, failure_reason = $6,
                failure_message = $7, failed_at = $8, updated_at = $9
            WHERE request_id = $1
            """)
        {
            Parameters =
            {
                new NpgsqlParameter<Guid> { TypedValue = link.RequestId },
                new NpgsqlParameter<string> { TypedValue = link.Status },
                Nullable(link.Url, NpgsqlDbType.Text),
                Nullable(link.ExpiresAt, NpgsqlDbType.TimestampTz),
                Nullable(link.GeneratedAt, NpgsqlDbType.TimestampTz),
                Nullable(link.FailureReason, NpgsqlDbType.Text),
                Nullable(link.FailureMessage, NpgsqlDbType.Text),
                Nullable(link.FailedAt, NpgsqlDbType.TimestampTz),
                new NpgsqlParameter<DateTimeOffset> { TypedValue = link.UpdatedAt },
            },
        });
        if (link.CampaignId is not null)
            batch.BatchCommands.Add(CampaignStore.RecordOutcomeCommand(link.RequestId, link.Status));
        batch.BatchCommands.Add(new NpgsqlBatchCommand("COMMIT"));
        Guid? completed = null;
        await using (var reader = await batch.ExecuteReaderAsync(cancellationToken))
        {
            do
            {
                if (reader.FieldCount == 2 && await reader.ReadAsync(cancellationToken))
                    completed = CampaignStore.ReadCompleted(reader);
            } while (await reader.NextResultAsync(cancellationToken));
        }
        _inTransaction = null;
        return completed;
    }

    /// <summary>Ends the transaction without an outcome (nothing of it is kept). <paramref name="keepPending"/>, when given,
    /// is then recorded on its own in the same round trip, so a request that waits in the queue is visible as
    /// <c>pending</c>.</summary>
    public async Task RollbackAsync(PortalLink? keepPending, CancellationToken cancellationToken)
    {
        var connection = _inTransaction ?? throw new InvalidOperationException("No request transaction is open.");
        await using var batch = new NpgsqlBatch(connection);
        batch.BatchCommands.Add(new NpgsqlBatchCommand("ROLLBACK"));
        if (keepPending is not null)
            batch.BatchCommands.Add(InsertPending(keepPending));
        await batch.ExecuteNonQueryAsync(cancellationToken);
        _inTransaction = null;
    }

    /// <summary>Rolls back a transaction a failure left open, or drops the connection when that fails too (PostgreSQL
    /// then rolls it back with the session). Does nothing when no transaction is open.</summary>
    public async Task RollbackIfOpenAsync()
    {
        if (_inTransaction is not { } connection)
            return;
        _inTransaction = null;
        try
        {
            await using var rollback = new NpgsqlCommand("ROLLBACK", connection);
            await rollback.ExecuteNonQueryAsync();
        }
        catch (Exception e) when (e is DbException or InvalidOperationException)
        {
            await connection.CloseAsync();
        }
    }

    public async ValueTask DisposeAsync() => await RollbackIfOpenAsync();

    private static NpgsqlBatchCommand InsertPending(PortalLink link) => new("""
        INSERT INTO portal_links (request_id, customer_id, status, campaign_id, expires_in, frame_ancestors, created_at, updated_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
        ON CONFLICT (request_id) DO NOTHING
        """)
    {
        Parameters =
        {
            new NpgsqlParameter<Guid> { TypedValue = link.RequestId },
            new NpgsqlParameter<string> { TypedValue = link.CustomerId },
            new NpgsqlParameter<string> { TypedValue = PortalLinkStatus.Pending },
            Nullable(link.CampaignId, NpgsqlDbType.Uuid),
            Nullable(link.ExpiresIn, NpgsqlDbType.Integer),
            Nullable(link.FrameAncestors, NpgsqlDbType.Text),
            new NpgsqlParameter<DateTimeOffset> { TypedValue = link.CreatedAt },
        },
    };

    private static PortalLink Read(NpgsqlDataReader reader, Guid requestId) => new()
    {
        RequestId = requestId,
        CustomerId = reader.GetString(0),
        Status = reader.GetString(1),
        Url = reader.IsDBNull(2) ? null : reader.GetString(2),
        ExpiresAt = Time(reader, 3),
        GeneratedAt = Time(reader, 4),
        CampaignId = reader.IsDBNull(5) ? null : reader.GetGuid(5),
        FailureReason = reader.IsDBNull(6) ? null : reader.GetString(6),
        FailureMessage = reader.IsDBNull(7) ? null : reader.GetString(7),
        FailedAt = Time(reader, 8),
        ExpiresIn = reader.IsDBNull(9) ? null : reader.GetInt32(9),
        FrameAncestors = reader.IsDBNull(10) ? null : reader.GetString(10),
        CreatedAt = reader.GetFieldValue<DateTimeOffset>(11),
        UpdatedAt = reader.GetFieldValue<DateTimeOffset>(12),
    };

    private static DateTimeOffset? Time(NpgsqlDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : reader.GetFieldValue<DateTimeOffset>(ordinal);

    private static NpgsqlParameter Nullable(object? value, NpgsqlDbType type) =>
        new() { NpgsqlDbType = type, Value = value ?? DBNull.Value };
}
