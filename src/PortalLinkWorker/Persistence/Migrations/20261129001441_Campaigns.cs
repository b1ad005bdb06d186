using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace PortalLinkWorker.Persistence.Migrations
{
    /// <inheritdoc />
    public partial class Campaigns : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "portal_link_campaigns",
                columns: table => new
                {
                    campaign_id = table.Column<Guid>(type: "uuid", nullable: false),
                    name = table.Column<string>(type: "text", nullable: false),
                    expires_in = table.Column<int>(type: "integer", nullable: true),
                    frame_ancestors = table.Column<string>(type: "text", nullable: true),
                    total = table.Column<int>(type: "integer", nullable: false),
                    pending_count = table.Column<int>(type: "integer", nullable: false),
                    generated_count = table.Column<int>(type: "integer", nullable: false),
                    failed_count = table.Column<int>(type: "integer", nullable: false),
                    run = table.Column<int>(type: "integer", nullable: false),
                    recorded_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    enqueued_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    completed_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    completion_published_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    created_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    updated_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_portal_link_campaigns", x => x.campaign_id);
                    table.CheckConstraint("ck_portal_link_campaigns_counts", "pending_count >= 0 AND generated_count >= 0 AND failed_count >= 0 AND pending_count + generated_count + failed_count = total");
                });

            migrationBuilder.CreateTable(
                name: "portal_link_campaign_items",
                columns: table => new
                {
                    campaign_id = table.Column<Guid>(type: "uuid", nullable: false),
                    item_no = table.Column<int>(type: "integer", nullable: false),
                    customer_id = table.Column<string>(type: "text", nullable: false),
                    expires_in = table.Column<int>(type: "integer", nullable: true),
                    frame_ancestors = table.Column<string>(type: "text", nullable: true),
                    request_id = table.Column<Guid>(type: "uuid", nullable: false),
                    attempt = table.Column<int>(type: "integer", nullable: false),
                    status = table.Column<string>(type: "text", nullable: false),
                    enqueued = table.Column<bool>(type: "boolean", nullable: false),
                    updated_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_portal_link_campaign_items", x => new { x.campaign_id, x.item_no });
                    table.CheckConstraint("ck_portal_link_campaign_items_status", "status IN ('pending', 'generated', 'failed')");
                    table.ForeignKey(
                        name: "fk_portal_link_campaign_items_campaign",
                        column: x => x.campaign_id,
                        principalTable: "portal_link_campaigns",
                        principalColumn: "campaign_id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateIndex(
                name: "ix_portal_link_campaign_items_not_enqueued",
                table: "portal_link_campaign_items",
                columns: new[] { "campaign_id", "item_no" },
                filter: "NOT enqueued");

            migrationBuilder.CreateIndex(
                name: "ux_portal_link_campaign_items_request_id",
                table: "portal_link_campaign_items",
                column: "request_id",
                unique: true);

            migrationBuilder.CreateIndex(
                name: "ix_portal_link_campaigns_unpublished",
                table: "portal_link_campaigns",
                column: "completed_at",
                filter: "completed_at IS NOT NULL AND completion_published_at IS NULL");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "portal_link_campaign_items");

            migrationBuilder.DropTable(
                name: "portal_link_campaigns");
        }
    }
}
