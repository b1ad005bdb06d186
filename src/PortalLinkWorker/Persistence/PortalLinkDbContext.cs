using Microsoft.EntityFrameworkCore;

namespace PortalLinkWorker.Persistence;

public sealed class PortalLinkDbContext(DbContextOptions<PortalLinkDbContext> options) : DbContext(options)
{
    public DbSet<PortalLink> PortalLinks => Set<PortalLink>();
    public DbSet<RateBudgetRecord> RateBudgets => Set<RateBudgetRecord>();
    public DbSet<Campaign> Campaigns => Set<Campaign>();
    public DbSet<CampaignItem> CampaignItems => Set<CampaignItem>();

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
        link.Property(l => l.ReuseIfValidFor).HasColumnName("reuse_if_valid_for");
        link.Property(l => l.ReusedFrom).HasColumnName("reused_from");
        link.Property(l => l.UrlErasedAt).HasColumnName("url_erased_at");
        link.Property(l => l.CreatedAt).HasColumnName("created_at");
        link.Property(l => l.UpdatedAt).HasColumnName("updated_at");
        link.Ignore(l => l.IsFinal);
        link.HasIndex(l => l.CustomerId).HasDatabaseName("ix_portal_links_customer_id");
        // The reuse question: this customer's links still readable, latest expiry first.
        link.HasIndex(l => new { l.CustomerId, l.ExpiresAt }).HasDatabaseName("ix_portal_links_reusable")
            .HasFilter($"status = '{PortalLinkStatus.Generated}' AND url IS NOT NULL");
        // The retention sweep's question: URLs still stored, oldest expiry first.
        link.HasIndex(l => l.ExpiresAt).HasDatabaseName("ix_portal_links_url_stored").HasFilter("url IS NOT NULL");
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
        budget.Property(b => b.AdmittedSlots).HasColumnName("admitted_slots").HasDefaultValueSql("'{}'::integer[]");
        budget.Property(b => b.AdmittedLatestSlot).HasColumnName("admitted_latest_slot").HasDefaultValue(0L);
        budget.Property(b => b.ThrottledAt).HasColumnName("throttled_at");
        budget.Property(b => b.ThrottledPause).HasColumnName("throttled_pause").HasDefaultValue(TimeSpan.Zero);
        budget.Property(b => b.LastRefusedAt).HasColumnName("last_refused_at");

        var campaign = modelBuilder.Entity<Campaign>();
        campaign.ToTable("portal_link_campaigns", t => t.HasCheckConstraint("ck_portal_link_campaigns_counts",
            "pending_count >= 0 AND generated_count >= 0 AND failed_count >= 0 AND pending_count + generated_count + failed_count = total"));
        campaign.HasKey(c => c.CampaignId).HasName("pk_portal_link_campaigns");
        campaign.Property(c => c.CampaignId).HasColumnName("campaign_id");
        campaign.Property(c => c.Name).HasColumnName("name").IsRequired();
        campaign.Property(c => c.ExpiresIn).HasColumnName("expires_in");
        campaign.Property(c => c.FrameAncestors).HasColumnName("frame_ancestors");
        campaign.Property(c => c.ReuseIfValidFor).HasColumnName("reuse_if_valid_for");
        campaign.Property(c => c.ReusedCount).HasColumnName("reused_count").HasDefaultValue(0);
        campaign.Property(c => c.Total).HasColumnName("total");
        campaign.Property(c => c.PendingCount).HasColumnName("pending_count");
        campaign.Property(c => c.GeneratedCount).HasColumnName("generated_count");
        campaign.Property(c => c.FailedCount).HasColumnName("failed_count");
        campaign.Property(c => c.Run).HasColumnName("run");
        campaign.Property(c => c.RecordedAt).HasColumnName("recorded_at");
        campaign.Property(c => c.EnqueuedAt).HasColumnName("enqueued_at");
        campaign.Property(c => c.CompletedAt).HasColumnName("completed_at");
        campaign.Property(c => c.CompletionPublishedAt).HasColumnName("completion_published_at");
        campaign.Property(c => c.CreatedAt).HasColumnName("created_at");
        campaign.Property(c => c.UpdatedAt).HasColumnName("updated_at");
        // The completion sweeper's question: completed, not yet announced.
        campaign.HasIndex(c => c.CompletedAt).HasDatabaseName("ix_portal_link_campaigns_unpublished")
            .HasFilter("completed_at IS NOT NULL AND completion_published_at IS NULL");

        var item = modelBuilder.Entity<CampaignItem>();
        item.ToTable("portal_link_campaign_items", t => t.HasCheckConstraint("ck_portal_link_campaign_items_status",
            $"status IN ('{PortalLinkStatus.Pending}', '{PortalLinkStatus.Generated}', '{PortalLinkStatus.Failed}')"));
        item.HasKey(i => new { i.CampaignId, i.ItemNo }).HasName("pk_portal_link_campaign_items");
        item.Property(i => i.CampaignId).HasColumnName("campaign_id");
        item.Property(i => i.ItemNo).HasColumnName("item_no");
        item.Property(i => i.CustomerId).HasColumnName("customer_id").IsRequired();
        item.Property(i => i.ExpiresIn).HasColumnName("expires_in");
        item.Property(i => i.FrameAncestors).HasColumnName("frame_ancestors");
        item.Property(i => i.RequestId).HasColumnName("request_id");
        item.Property(i => i.Attempt).HasColumnName("attempt");
        item.Property(i => i.Status).HasColumnName("status").IsRequired();
        item.Property(i => i.Enqueued).HasColumnName("enqueued");
        item.Property(i => i.UpdatedAt).HasColumnName("updated_at");
        item.HasIndex(i => i.RequestId).IsUnique().HasDatabaseName("ux_portal_link_campaign_items_request_id");
        item.HasIndex(i => new { i.CampaignId, i.ItemNo }).HasDatabaseName("ix_portal_link_campaign_items_not_enqueued")
            .HasFilter("NOT enqueued");
        item.HasOne<Campaign>().WithMany().HasForeignKey(i => i.CampaignId).HasConstraintName("fk_portal_link_campaign_items_campaign")
            .OnDelete(DeleteBehavior.Cascade);
    }
}
