using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace PortalLinkWorker.Persistence.Migrations
{
    /// <inheritdoc />
    public partial class LastRefusedAt : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<DateTimeOffset>(
                name: "last_refused_at",
                table: "upflow_rate_budgets",
                type: "timestamp with time zone",
                nullable: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "last_refused_at",
                table: "upflow_rate_budgets");
        }
    }
}
