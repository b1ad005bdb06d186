using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace PortalLinkWorker.Persistence.Migrations
{
    /// <inheritdoc />
    public partial class AdmissionLog : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<long>(
                name: "admitted_latest_slot",
                table: "upflow_rate_budgets",
                type: "bigint",
                nullable: false,
                defaultValue: 0L);

            migrationBuilder.AddColumn<int[]>(
                name: "admitted_slots",
                table: "upflow_rate_budgets",
                type: "integer[]",
                nullable: false,
                defaultValueSql: "'{}'::integer[]");

            migrationBuilder.AddColumn<DateTimeOffset>(
                name: "throttled_at",
                table: "upflow_rate_budgets",
                type: "timestamp with time zone",
                nullable: true);

            migrationBuilder.AddColumn<TimeSpan>(
                name: "throttled_pause",
                table: "upflow_rate_budgets",
                type: "interval",
                nullable: false,
                defaultValue: new TimeSpan(0, 0, 0, 0, 0));
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "admitted_latest_slot",
                table: "upflow_rate_budgets");

            migrationBuilder.DropColumn(
                name: "admitted_slots",
                table: "upflow_rate_budgets");

            migrationBuilder.DropColumn(
                name: "throttled_at",
                table: "upflow_rate_budgets");

            migrationBuilder.DropColumn(
                name: "throttled_pause",
                table: "upflow_rate_budgets");
        }
    }
}
