using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace PortalLinkWorker.Persistence.Migrations
{
    /// <inheritdoc />
    public partial class LinkCredentials : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<int>(
                name: "reuse_if_valid_for",
                table: "portal_links",
                type: "integer",
                nullable: true);

            migrationBuilder.AddColumn<Guid>(
                name: "reused_from",
                table: "portal_links",
                type: "uuid",
                nullable: true);

            migrationBuilder.AddColumn<DateTimeOffset>(
                name: "url_erased_at",
                table: "portal_links",
                type: "timestamp with time zone",
                nullable: true);

            migrationBuilder.AddColumn<int>(
                name: "reuse_if_valid_for",
                table: "portal_link_campaigns",
                type: "integer",
                nullable: true);

            migrationBuilder.AddColumn<int>(
                name: "reused_count",
                table: "portal_link_campaigns",
                type: "integer",
                nullable: false,
                defaultValue: 0);

            migrationBuilder.CreateIndex(
                name: "ix_portal_links_reusable",
                table: "portal_links",
                columns: new[] { "customer_id", "expires_at" },
                filter: "status = 'generated' AND url IS NOT NULL");

            migrationBuilder.CreateIndex(
                name: "ix_portal_links_url_stored",
                table: "portal_links",
                column: "expires_at",
                filter: "url IS NOT NULL");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "ix_portal_links_reusable",
                table: "portal_links");

            migrationBuilder.DropIndex(
                name: "ix_portal_links_url_stored",
                table: "portal_links");

            migrationBuilder.DropColumn(
                name: "reuse_if_valid_for",
                table: "portal_links");

            migrationBuilder.DropColumn(
                name: "reused_from",
                table: "portal_links");

            migrationBuilder.DropColumn(
                name: "url_erased_at",
                table: "portal_links");

            migrationBuilder.DropColumn(
                name: "reuse_if_valid_for",
                table: "portal_link_campaigns");

            migrationBuilder.DropColumn(
                name: "reused_count",
                table: "portal_link_campaigns");
        }
    }
}
