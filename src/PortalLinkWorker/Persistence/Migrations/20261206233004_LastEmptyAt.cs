using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace PortalLinkWorker.Persistence.Migrations
{
    /// <inheritdoc />
    public partial class LastEmptyAt : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<DateTimeOffset>(
                name: "last_empty_at",
                table: "upflow_rate_budgets",
                type: "timestamp with time zone",
                nullable: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "last_empty_at",
                table: "upflow_rate_budgets");
        }
    }
}
