namespace ThroughputBench;

/// <summary>The worker's <c>portal_links</c> table as its migrations create it (same columns, key, check and indexes),
/// for the baselines, which write the same rows without EF Core.</summary>
internal static class LinkTable
{
    public const string Create = """
        CREATE TABLE portal_links (
            request_id uuid NOT NULL,
            customer_id text NOT NULL,
            status text NOT NULL,
            url text NULL,
            expires_at timestamp with time zone NULL,
            generated_at timestamp with time zone NULL,
            campaign_id uuid NULL,
            failure_reason text NULL,
            failure_message text NULL,
            failed_at timestamp with time zone NULL,
            expires_in integer NULL,
            frame_ancestors text NULL,
            created_at timestamp with time zone NOT NULL,
            updated_at timestamp with time zone NOT NULL,
            CONSTRAINT pk_portal_links PRIMARY KEY (request_id),
            CONSTRAINT ck_portal_links_status CHECK (status IN ('pending', 'generated', 'failed'))
        );
        CREATE INDEX ix_portal_links_campaign_id ON portal_links (campaign_id) WHERE campaign_id IS NOT NULL;
        CREATE INDEX ix_portal_links_customer_id ON portal_links (customer_id);
        """;

    /// <summary>The pending row, as the worker records it before calling Upflow (auto-commit, idempotent).</summary>
    public const string InsertPending = """
        INSERT INTO portal_links (request_id, customer_id, status, expires_in, created_at, updated_at)
        VALUES ($1, $2, 'pending', $3, $4, $4)
        ON CONFLICT (request_id) DO NOTHING
        """;

    public const string MarkGenerated = """
        UPDATE portal_links SET status = 'generated', url = $2, expires_at = $3, generated_at = $4, updated_at = $4
        WHERE request_id = $1
        """;

    /// <summary>The naive loop's single statement: the finished row.</summary>
    public const string InsertGenerated = """
        INSERT INTO portal_links (request_id, customer_id, status, url, expires_at, generated_at, expires_in, created_at, updated_at)
        VALUES ($1, $2, 'generated', $3, $4, $5, $6, $5, $5)
        """;
}
