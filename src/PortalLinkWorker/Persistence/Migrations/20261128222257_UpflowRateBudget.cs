using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace PortalLinkWorker.Persistence.Migrations
{
    /// <inheritdoc />
    public partial class UpflowRateBudget : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "upflow_rate_budgets",
                columns: table => new
                {
                    account = table.Column<string>(type: "text", nullable: false),
                    tokens = table.Column<double>(type: "double precision", nullable: false),
                    refilled_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    paused_until = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    rate = table.Column<double>(type: "double precision", nullable: false),
                    rate_changed_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    updated_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_upflow_rate_budgets", x => x.account);
                });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "upflow_rate_budgets");
        }
    }
}
