using Microsoft.EntityFrameworkCore;

namespace PortalLinkWorker.Persistence;

public sealed class PortalLinkDbContext(DbContextOptions<PortalLinkDbContext> options) : DbContext(options)
{
    public DbSet<PortalLink> PortalLinks => Set<PortalLink>();
    public DbSet<RateBudgetRecord> RateBudgets => Set<RateBudgetRecord>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        var link = modelBuilder.Entity<PortalLink>();
        link.ToTable("portal_links", t => t.HasCheckConstraint("ck_portal_links_status",
            $"status IN ('{PortalLinkStatus.Pending}', '{PortalLinkStatus.Generated}', '{PortalLinkStatus.Failed}')"));
        link.HasKey(l => l.RequestId).HasName("pk_portal_links");
        link.Property(l => l.RequestId).HasColumnName("request_id");
        link.Property(l => l.CustomerId).HasColumnName("customer_id").IsRequired();
        link.Property(l => l.Status).HasColumnName("status").IsRequired();
        link.Property(l => l.Url).HasColumnName("url");
        link.Property(l => l.ExpiresAt).HasColumnName("expires_at");
        link.Property(l => l.GeneratedAt).HasColumnName("generated_at");
        link.Property(l => l.CampaignId).HasColumnName("campaign_id");
        link.Property(l => l.FailureReason).HasColumnName("failure_reason");
        link.Property(l => l.FailureMessage).HasColumnName("failure_message");
        link.Property(l => l.FailedAt).HasColumnName("failed_at");
        link.Property(l => l.ExpiresIn).HasColumnName("expires_in");
        link.Property(l => l.FrameAncestors).HasColumnName("frame_ancestors");
        link.Property(l => l.CreatedAt).HasColumnName("created_at");
        link.Property(l => l.UpdatedAt).HasColumnName("updated_at");
        link.Ignore(l => l.IsFinal);
        link.HasIndex(l => l.CustomerId).HasDatabaseName("ix_portal_links_customer_id");
        link.HasIndex(l => l.CampaignId).HasDatabaseName("ix_portal_links_campaign_id").HasFilter("campaign_id IS NOT NULL");

        var budget = modelBuilder.Entity<RateBudgetRecord>();
        budget.ToTable("upflow_rate_budgets");
        budget.HasKey(b => b.Account).HasName("pk_upflow_rate_budgets");
        budget.Property(b => b.Account).HasColumnName("account");
        budget.Property(b => b.Tokens).HasColumnName("tokens");
        budget.Property(b => b.RefilledAt).HasColumnName("refilled_at");
        budget.Property(b => b.PausedUntil).HasColumnName("paused_until");
        budget.Property(b => b.Rate).HasColumnName("rate");
        budget.Property(b => b.RateChangedAt).HasColumnName("rate_changed_at");
        budget.Property(b => b.UpdatedAt).HasColumnName("updated_at");
    }
}
