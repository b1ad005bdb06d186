using Npgsql;
using PortalLinkContracts;

namespace PortalLinkWorker.Persistence;

/// <summary>
/// A completed campaign run whose event is not published yet, locked in a transaction of its own, like an outbox: the
/// caller publishes <see cref="Event"/>, then <see cref="MarkPublishedAsync"/> records it and commits. Disposing without
/// marking rolls back (the run stays unpublished for the next try or the sweep).
/// </summary>
public sealed class UnpublishedCompletion : IAsyncDisposable
{
    private readonly NpgsqlConnection _connection;
    private readonly NpgsqlTransaction _transaction;

    private UnpublishedCompletion(NpgsqlConnection connection, NpgsqlTransaction transaction, PortalLinkCampaignCompleted @event, int run)
    {
        _connection = connection;
        _transaction = transaction;
        Event = @event;
        Run = run;
    }

    public PortalLinkCampaignCompleted Event { get; }

    /// <summary>The run that completed (a retry of the failed items is the next run).</summary>
    public int Run { get; }

    internal static async Task<UnpublishedCompletion?> LockAsync(NpgsqlDataSource dataSource, Guid campaignId, bool skipLocked,
        CancellationToken cancellationToken)
    {
        var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        NpgsqlTransaction? transaction = null;
        try
        {
            transaction = await connection.BeginTransactionAsync(cancellationToken);
            await using var command = new NpgsqlCommand($"""
                SELECT name, total, generated_count, failed_count, completed_at, run FROM portal_link_campaigns
                WHERE campaign_id = @campaign AND completed_at IS NOT NULL AND completion_published_at IS NULL
                FOR UPDATE{(skipLocked ? " SKIP LOCKED" : "")}
                """, connection, transaction);
            command.Parameters.AddWithValue("campaign", campaignId);
            PortalLinkCampaignCompleted? completed = null;
            var run = 0;
            await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
            {
                if (await reader.ReadAsync(cancellationToken))
                {
                    completed = new PortalLinkCampaignCompleted(campaignId, reader.Get<string>("name"), reader.Get<int>("total"),
                        reader.Get<int>("generated_count"), reader.Get<int>("failed_count"), reader.Get<DateTimeOffset>("completed_at"));
                    run = reader.Get<int>("run");
                }
            }
            if (completed is not null)
                return new UnpublishedCompletion(connection, transaction, completed, run);
            await transaction.RollbackAsync(cancellationToken);
        }
        catch
        {
            if (transaction is not null)
                await transaction.DisposeAsync();
            await connection.DisposeAsync();
            throw;
        }
        await transaction.DisposeAsync();
        await connection.DisposeAsync();
        return null;
    }

    /// <summary>Records that the event was published, and commits.</summary>
    public async Task MarkPublishedAsync(CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(
            "UPDATE portal_link_campaigns SET completion_published_at = clock_timestamp() WHERE campaign_id = @campaign",
            _connection, _transaction);
        command.Parameters.AddWithValue("campaign", Event.CampaignId);
        await command.ExecuteNonQueryAsync(cancellationToken);
        await _transaction.CommitAsync(cancellationToken);
    }

    /// <summary>Rolls back unless committed (Npgsql does on dispose), and gives the connection back.</summary>
    public async ValueTask DisposeAsync()
    {
        await _transaction.DisposeAsync();
        await _connection.DisposeAsync();
    }
}
