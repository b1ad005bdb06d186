using PortalLinkWorker.Hosting;

namespace PortalLinkWorker.Cli;

/// <summary>Chooses between running the worker (no command) and one of the commands.</summary>
public static class WorkerCommands
{
    public const string Usage = """
        Usage:
          PortalLinkWorker                      run the worker (consume generate-portal-link, generate-portal-link-bulk
                                                and start-portal-link-campaign until stopped), with /health/live,
                                                /health/ready, /metrics and the status page at / on Urls /
                                                ASPNETCORE_URLS (default http://0.0.0.0:8080)
          PortalLinkWorker migrate              apply the database migrations and exit
          PortalLinkWorker request <customerId> [--expires-in <seconds>] [--frame-ancestors "<host> <host>"]
                                   [--request-id <uuid>] [--campaign-id <uuid>] [--wait] [--timeout <seconds>]
                                                publish one GeneratePortalLink; with --wait, print the outcome
                                                (exit 0 generated, 1 failed, 2 no answer in time)
          PortalLinkWorker redeliver-errors [--bulk] [--max <n>]
                                                move messages from generate-portal-link_error back to
                                                generate-portal-link for another try (after fixing the cause);
                                                --bulk: generate-portal-link-bulk_error (campaign items)
          PortalLinkWorker check-config [--no-connect]
                                                print the effective settings (secrets masked), check them, and test
                                                RabbitMQ, PostgreSQL and Upflow (exit 0 all good, 1 a service failed,
                                                2 a setting is invalid)
          PortalLinkWorker healthcheck [--url <url>]
                                                GET the running worker's /health/ready (default http://127.0.0.1:8080);
                                                exit 0 when ready, 1 otherwise (for container health checks)
          PortalLinkWorker campaign start --file <customers.csv> [--name <name>] [--expires-in <seconds>]
                                   [--frame-ancestors "<host> <host>"] [--campaign-id <uuid>] [--wait]
                                                check every row of the CSV (header row with customer_id; optional
                                                expires_in, frame_ancestors), then record and enqueue the campaign on
                                                generate-portal-link-bulk; re-run with the same --campaign-id after an
                                                interruption; --wait shows progress until it completes
          PortalLinkWorker campaign status <campaignId> [--wait]
                                                counts by state, rate and time left; --wait follows it to the end
                                                (exit 0 all generated, 1 some failed)
          PortalLinkWorker campaign retry-failed <campaignId> [--wait]
                                                enqueue the failed items again with new RequestIds
          PortalLinkWorker help                 this text

        Settings come from appsettings.json beside the DLL, then environment variables (Upflow__ApiKey, ...),
        then --Section:Key=value arguments.
        """;

    public static async Task<int> RunAsync(string[] args)
    {
        // A flag first means settings for the worker (--Upflow:ApiKey=…), except the usual ways of asking for help, which
        // must never start a worker that consumes the queue.
        var command = args.Length > 0 && (!args[0].StartsWith('-') || args[0] is "--help" or "-h" or "-?") ? args[0] : null;
        var rest = command is null ? args : args[1..];
        switch (command)
        {
            case null:
                await using (var app = PortalLinkWorkerHost.BuildWorker(rest))
                    await app.RunAsync();
                return 0;
            case "check-config":
                return await CheckConfigCommand.RunAsync(rest);
            case "healthcheck":
                return await HealthcheckCommand.RunAsync(rest);
            case "migrate":
                return await MigrateCommand.RunAsync(rest);
            case "request":
                return await RequestCommand.RunAsync(rest);
            case "campaign":
                return await CampaignCommand.RunAsync(rest);
            case "redeliver-errors":
                return await RedeliverErrorsCommand.RunAsync(rest);
            case "help" or "--help" or "-h" or "-?":
                Console.WriteLine(Usage);
                return 0;
            default:
                await Console.Error.WriteLineAsync($"Unknown command '{command}'.\n\n{Usage}");
                return 64;
        }
    }
}
