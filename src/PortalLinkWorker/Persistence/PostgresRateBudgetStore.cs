using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using Npgsql;
using PortalLinkWorker.Upflow;

namespace PortalLinkWorker.Persistence;

/// <summary>The account's budget in PostgreSQL, which every replica already shares: one row, changed under a row lock
/// in a short transaction, with the database's clock.</summary>
public sealed class PostgresRateBudgetStore(NpgsqlDataSource dataSource, IOptions<UpflowOptions> options) : IRateBudgetStore
{
    private readonly string _account = AccountKey(options.Value);

    /// <summary>Replicas talking to the same Upflow account with the same key share a budget; the row names the account
    /// by a hash, so the key never reaches the database.</summary>
    public static string AccountKey(UpflowOptions options) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{options.BaseUrl.AbsoluteUri}\n{options.ApiKey}")))[..32];

    public async Task<(T Result, DateTimeOffset Now)> UpdateAsync<T>(
        Func<RateBudgetState?, DateTimeOffset, (RateBudgetState State, T Result)> change, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        DateTimeOffset now;
        RateBudgetRecord? record = null;
        await using (var read = new NpgsqlBatch(connection, transaction)
        {
            BatchCommands =
            {
                // The database's clock, read before the row's lock is waited for.
                new NpgsqlBatchCommand("SELECT clock_timestamp() AS now"),
                new NpgsqlBatchCommand($"SELECT {RateBudgetRecord.Columns} FROM upflow_rate_budgets WHERE account = $1 FOR UPDATE")
                    { Parameters = { new NpgsqlParameter<string> { TypedValue = _account } } },
            },
        })
        await using (var reader = await read.ExecuteReaderAsync(cancellationToken))
        {
            await reader.ReadAsync(cancellationToken);
            now = PostgresTime.Truncate(reader.Get<DateTimeOffset>("now"));
            await reader.NextResultAsync(cancellationToken);
            if (await reader.ReadAsync(cancellationToken))
                record = RateBudgetRecord.Read(reader);
        }
        var (state, result) = change(record?.ToState(), now);
        var written = record ?? new RateBudgetRecord { Account = _account };
        written.Apply(state, now);
        await using var write = new NpgsqlCommand(record is null ? RateBudgetRecord.Insert : RateBudgetRecord.Update, connection, transaction);
        written.AddParameters(write.Parameters);
        if (await write.ExecuteNonQueryAsync(cancellationToken) == 0)
        {
            // Another replica created the row first: apply the change to its row instead.
            await transaction.RollbackAsync(cancellationToken);
            return await UpdateAsync(change, cancellationToken);
        }
        await transaction.CommitAsync(cancellationToken);
        return (result, now);
    }
}
