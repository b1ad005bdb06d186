using System.Security.Cryptography;
using System.Text;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using PortalLinkWorker.Upflow;

namespace PortalLinkWorker.Persistence;

/// <summary>The account's budget in PostgreSQL, which every replica already shares: one row, changed under a row lock
/// in a short transaction, with the database's clock.</summary>
public sealed class PostgresRateBudgetStore(IServiceScopeFactory scopes, IOptions<UpflowOptions> options) : IRateBudgetStore
{
    private readonly string _account = AccountKey(options.Value);

    /// <summary>Replicas talking to the same Upflow account with the same key share a budget; the row names the account
    /// by a hash, so the key never reaches the database.</summary>
    public static string AccountKey(UpflowOptions options) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{options.BaseUrl.AbsoluteUri}\n{options.ApiKey}")))[..32];

    public async Task<(T Result, DateTimeOffset Now)> UpdateAsync<T>(
        Func<RateBudgetState?, DateTimeOffset, (RateBudgetState State, T Result)> change, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<PortalLinkDbContext>();
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var now = PostgresTime.Truncate(
            await db.Database.SqlQuery<DateTimeOffset>($"SELECT clock_timestamp() AS \"Value\"").SingleAsync(cancellationToken));
        var rows = await db.RateBudgets
            .FromSql($"SELECT * FROM upflow_rate_budgets WHERE account = {_account} FOR UPDATE")
            .ToListAsync(cancellationToken);
        var record = rows.SingleOrDefault();
        var (state, result) = change(record?.ToState(), now);
        if (record is null)
        {
            var created = new RateBudgetRecord { Account = _account };
            created.Apply(state, now);
            var inserted = await db.Database.ExecuteSqlAsync($"""
                INSERT INTO upflow_rate_budgets (account, tokens, refilled_at, paused_until, rate, rate_changed_at, updated_at,
                                                 admitted_slots, admitted_latest_slot, throttled_at, throttled_pause)
                VALUES ({created.Account}, {created.Tokens}, {created.RefilledAt}, {created.PausedUntil}, {created.Rate},
                        {created.RateChangedAt}, {created.UpdatedAt}, {created.AdmittedSlots}, {created.AdmittedLatestSlot},
                        {created.ThrottledAt}, {created.ThrottledPause})
                ON CONFLICT (account) DO NOTHING
                """, cancellationToken);
            if (inserted == 0)
            {
                // Another replica created the row first: apply the change to its row instead.
                await transaction.RollbackAsync(cancellationToken);
                return await UpdateAsync(change, cancellationToken);
            }
        }
        else
        {
            record.Apply(state, now);
            await db.SaveChangesAsync(cancellationToken);
        }
        await transaction.CommitAsync(cancellationToken);
        return (result, now);
    }
}
