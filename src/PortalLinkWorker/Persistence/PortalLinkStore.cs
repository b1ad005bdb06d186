using Microsoft.EntityFrameworkCore;

namespace PortalLinkWorker.Persistence;

/// <summary>The two statements of the idempotency protocol that EF Core's change tracking cannot express.</summary>
public sealed class PortalLinkStore(PortalLinkDbContext db)
{
    /// <summary>Records the request as pending unless its RequestId is known. Runs on its own (auto-commit), so an
    /// in-flight or crashed request is visible as <c>pending</c>.</summary>
    public Task RecordPendingAsync(PortalLink link, CancellationToken cancellationToken) =>
        db.Database.ExecuteSqlAsync($"""
            INSERT INTO portal_links (request_id, customer_id, status, campaign_id, expires_in, frame_ancestors, created_at, updated_at)
            VALUES ({link.RequestId}, {link.CustomerId}, {PortalLinkStatus.Pending}, {link.CampaignId}, {link.ExpiresIn},
                    {link.FrameAncestors}, {link.CreatedAt}, {link.UpdatedAt})
            ON CONFLICT (request_id) DO NOTHING
            """, cancellationToken);

    /// <summary>As <see cref="LockAsync"/>, and then, in the same round trip, a transaction-scoped advisory lock on the
    /// customer: a second request for the same customer, in this process or another replica, waits until the first one's
    /// transaction ends. Always in that order (row, then customer), so two transactions never wait for each other in a
    /// cycle. Hash collisions only make two customers wait for each other now and then.</summary>
    public async Task<PortalLink> LockWithCustomerAsync(Guid requestId, string customerId, CancellationToken cancellationToken)
    {
        var rows = await db.PortalLinks
            .FromSql($"""
                SELECT * FROM portal_links WHERE request_id = {requestId} FOR UPDATE;
                SELECT pg_advisory_xact_lock(hashtextextended({customerId}, {CustomerLockSeed}))
                """)
            .ToListAsync(cancellationToken);
        return rows.Single();
    }

    /// <summary>Loads the row for update inside the caller's transaction. A second copy of the same request waits here
    /// until the first one's transaction ends, then sees its outcome: two copies never both call Upflow.</summary>
    public async Task<PortalLink> LockAsync(Guid requestId, CancellationToken cancellationToken)
    {
        var rows = await db.PortalLinks
            .FromSql($"SELECT * FROM portal_links WHERE request_id = {requestId} FOR UPDATE")
            .ToListAsync(cancellationToken);
        return rows.Single();
    }

    /// <summary>Keeps the customer locks apart from any other advisory locks in the same database.</summary>
    private const long CustomerLockSeed = 0x506f7274616c;

    public Task SaveAsync(CancellationToken cancellationToken) => db.SaveChangesAsync(cancellationToken);
}
