using System.CommandLine;
using MassTransit;
using Npgsql;
using PortalLinkWorker.Campaigns;
using PortalLinkWorker.Hosting;
using PortalLinkWorker.Upflow;
using PortalLinkWorker.Messaging;
using PortalLinkWorker.Persistence;

namespace PortalLinkWorker.Cli;

/// <summary>
/// <c>PortalLinkWorker campaign start|status|retry-failed …</c>. <c>start</c> reads the CSV twice, as a stream: first to
/// check every row (all bad rows are reported with their line numbers, and nothing is recorded or enqueued when there is
/// one), then to record and enqueue in batches, so a file of any length needs about one batch in memory. It talks to
/// PostgreSQL and RabbitMQ directly, with the worker's settings; the worker consumes what it enqueued.
/// </summary>
public static class CampaignCommand
{
    private const int ExitOk = 0;
    private const int ExitFailed = 1;
    private const int ExitNotFound = 3;
    private const int ExitBadData = 65;
    private const int ExitNoInput = 66;

    /// <summary>Runs <c>campaign …</c> with these arguments (the verb first), its report to <paramref name="output"/>.</summary>
    public static Task<int> RunAsync(string[] args, TextWriter? output = null, CancellationToken cancellationToken = default) =>
        PortalLinkCommandLine.RunAsync(["campaign", .. args], output, cancellationToken);

    public static Command Create(CommandContext context)
    {
        var command = new Command("campaign", "start a campaign from a CSV file, follow it, retry its failed items");
        command.Subcommands.Add(CreateStart(context));
        command.Subcommands.Add(CreateFollowUp(context, "status", """
            counts by state, rate and time left; --wait follows it to the end (exit 0 all generated, 1 some failed)
            """, StatusAsync));
        command.Subcommands.Add(CreateFollowUp(context, "retry-failed", "enqueue the failed items again with new RequestIds", RetryFailedAsync));
        return command;
    }

    private static Command CreateStart(CommandContext context)
    {
        var file = new Option<string>("--file") { Description = "the CSV: a header row with customer_id; optional expires_in, frame_ancestors", HelpName = "customers.csv", Required = true };
        var name = new Option<string?>("--name")
        {
            Description = "the campaign's name (default: the file's name)",
            HelpName = "name",
            CustomParser = result =>
            {
                var value = result.Tokens.Count == 1 ? result.Tokens[0].Value : null;
                if (Links.PortalLinkRequestValidator.ValidateCampaignName(value) is { } problem)
                    result.AddError($"--name: {problem}");
                return value;
            },
        };
        var expiresIn = CommandLineOptions.ExpiresIn();
        var frameAncestors = CommandLineOptions.FrameAncestors(validate: true);
        var reuse = CommandLineOptions.ReuseIfValidFor();
        var campaignId = CommandLineOptions.CampaignId("the campaign's id, to re-run an interrupted start (default: a new one)");
        var wait = CommandLineOptions.Wait("show progress until the campaign completes (exit 0 all generated, 1 some failed)");
        var command = new Command("start", """
            check every row of the CSV, then record and enqueue the campaign on generate-portal-link-bulk; re-run with the
            same --campaign-id after an interruption
            """) { file, name, expiresIn, frameAncestors, reuse, campaignId, wait };
        command.SetAction((result, cancellationToken) => RunGuardedAsync(() => StartAsync(new CampaignArguments(result.GetRequiredValue(file),
            result.GetValue(name), result.GetValue(expiresIn), result.GetValue(frameAncestors) is { Length: > 0 } hosts ? hosts : null,
            result.GetValue(campaignId), result.GetValue(wait), context.Settings, result.GetValue(reuse)), context.Output, cancellationToken)));
        return command;
    }

    private static Command CreateFollowUp(CommandContext context, string verb, string description,
        Func<CampaignArguments, TextWriter, CancellationToken, Task<int>> run)
    {
        var campaignId = CommandLineOptions.CampaignIdArgument(verb);
        var wait = CommandLineOptions.Wait("follow the campaign until it completes (exit 0 all generated, 1 some failed)");
        var command = new Command(verb, description) { campaignId, wait };
        command.SetAction((result, cancellationToken) => RunGuardedAsync(() => run(new CampaignArguments(null, null, null, null,
            result.GetValue(campaignId), result.GetValue(wait), context.Settings), context.Output, cancellationToken)));
        return command;
    }

    /// <summary>What one <c>campaign</c> verb was given.</summary>
    private sealed record CampaignArguments(string? File, string? Name, int? ExpiresIn, string? FrameAncestors, Guid? CampaignId,
        bool Wait, string[] Settings, int? ReuseIfValidFor = null);

    private static async Task<int> RunGuardedAsync(Func<Task<int>> run)
    {
        try
        {
            return await run();
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UndefinedTable)
        {
            await Console.Error.WriteLineAsync("The database has no campaign tables yet: start the worker once, or run `PortalLinkWorker migrate`.");
            return ExitFailed;
        }
    }

    private static async Task<int> StartAsync(CampaignArguments options, TextWriter output, CancellationToken cancellationToken)
    {
        if (!File.Exists(options.File))
        {
            await Console.Error.WriteLineAsync($"No such file: {options.File}");
            return ExitNoInput;
        }
        using var host = BuildHost(options.Settings);
        var maxExpiresIn = host.Services.GetRequiredService<IConfiguration>().GetValue("Upflow:MaxExpiresIn", new UpflowOptions().MaxExpiresIn);
        // The worker's rule for a request's ExpiresIn, with the worker's setting: a campaign it would fail whole is refused here.
        if (Links.PortalLinkRequestValidator.ValidateExpiresIn(options.ExpiresIn, maxExpiresIn) is { } expiresInProblem)
        {
            await Console.Error.WriteLineAsync($"--expires-in: {expiresInProblem}");
            return PortalLinkCommandLine.ExitUsage;
        }
        if (Links.PortalLinkRequestValidator.ValidateReuseIfValidFor(options.ReuseIfValidFor, maxExpiresIn) is { } reuseProblem)
        {
            await Console.Error.WriteLineAsync($"--reuse-if-valid-for: {reuseProblem}");
            return PortalLinkCommandLine.ExitUsage;
        }

        // First pass: every row checked, every bad one reported, nothing recorded yet.
        var (customers, bad) = (0, 0);
        using (var reader = new StreamReader(options.File!))
            foreach (var row in CampaignCsvReader.Read(reader, maxExpiresIn, options.ExpiresIn, options.FrameAncestors))
            {
                if (row.Problem is null)
                {
                    customers++;
                    continue;
                }
                bad++;
                await Console.Error.WriteLineAsync($"{options.File}:{row.Line}: {row.Problem}");
            }
        if (bad > 0 || customers == 0)
        {
            await Console.Error.WriteLineAsync(bad > 0
                ? $"{bad} bad row(s) in {options.File}; nothing was recorded or enqueued."
                : $"{options.File} names no customer; nothing to do.");
            return ExitBadData;
        }

        var campaign = new CampaignDefinition(options.CampaignId ?? Guid.NewGuid(),
            options.Name ?? Path.GetFileNameWithoutExtension(options.File!), options.ExpiresIn, options.FrameAncestors,
            options.ReuseIfValidFor);
        await output.WriteLineAsync($"campaign {campaign.CampaignId} '{campaign.Name}': {customers} customers");
        await output.WriteLineAsync($"  if this is interrupted, run the same command again with --campaign-id {campaign.CampaignId}");

        var bus = await StartBusAsync(host, cancellationToken);
        try
        {
            await using var scope = host.Services.CreateAsyncScope();
            var starter = scope.ServiceProvider.GetRequiredService<CampaignStarter>();
            using var reader = new StreamReader(options.File!);
            var entries = CampaignCsvReader.Read(reader, maxExpiresIn, options.ExpiresIn, options.FrameAncestors)
                .Select(row => row.Entry ?? throw new InvalidDataException($"{options.File} changed while it was read (line {row.Line})."));
            var shown = 0;
            var result = await starter.StartAsync(campaign, entries, bus, bus, enqueued =>
            {
                // Every tenth of the way, and at the end.
                if (enqueued * 10 / Math.Max(1, customers) > shown * 10 / Math.Max(1, customers) || enqueued == customers)
                {
                    shown = enqueued;
                    output.WriteLine($"  enqueued {enqueued}/{customers}");
                }
            }, cancellationToken);
            await output.WriteLineAsync(result.Recorded
                ? $"  recorded {result.ItemsRecorded} item(s), enqueued {result.ItemsEnqueued} on {GeneratePortalLinkBulkQueue}"
                : $"  already recorded by an earlier start: {result.ItemsEnqueued} item(s) that were not yet on the queue enqueued now");
        }
        finally
        {
            await bus.StopAsync(CancellationToken.None);
        }
        return options.Wait ? await WaitAsync(host, campaign.CampaignId, output, cancellationToken) : ExitOk;
    }

    private static async Task<int> StatusAsync(CampaignArguments options, TextWriter output, CancellationToken cancellationToken)
    {
        using var host = BuildHost(options.Settings);
        if (options.Wait)
            return await WaitAsync(host, options.CampaignId!.Value, output, cancellationToken);
        var progress = await ProgressAsync(host, options.CampaignId!.Value, cancellationToken);
        if (progress is null)
        {
            await Console.Error.WriteLineAsync($"No campaign {options.CampaignId}.");
            return ExitNotFound;
        }
        await CampaignProgressDisplay.ShowAsync(progress, output);
        return ExitOk;
    }

    private static async Task<int> RetryFailedAsync(CampaignArguments options, TextWriter output, CancellationToken cancellationToken)
    {
        using var host = BuildHost(options.Settings);
        var campaignId = options.CampaignId!.Value;
        if (await ProgressAsync(host, campaignId, cancellationToken) is null)
        {
            await Console.Error.WriteLineAsync($"No campaign {campaignId}.");
            return ExitNotFound;
        }
        var bus = await StartBusAsync(host, cancellationToken);
        try
        {
            await using var scope = host.Services.CreateAsyncScope();
            var store = scope.ServiceProvider.GetRequiredService<CampaignStore>();
            var starter = scope.ServiceProvider.GetRequiredService<CampaignStarter>();
            // One transaction moves the failed items to a new attempt; the enqueue after it is the start's, so a retry
            // interrupted halfway is finished by running it again (the second run finds nothing failed, sends the rest).
            var retried = await store.RetryFailedAsync(campaignId, cancellationToken);
            var enqueued = await starter.EnqueueAsync(campaignId, bus, bus, progress: null, cancellationToken);
            await output.WriteLineAsync($"campaign {campaignId}: {retried} failed item(s) retried with new RequestIds; {enqueued} enqueued");
        }
        finally
        {
            await bus.StopAsync(CancellationToken.None);
        }
        return options.Wait ? await WaitAsync(host, campaignId, output, cancellationToken) : ExitOk;
    }

    /// <summary>Shows the campaign until its run completes: exit 0 when nothing failed, 1 otherwise.</summary>
    private static async Task<int> WaitAsync(IHost host, Guid campaignId, TextWriter output, CancellationToken cancellationToken)
    {
        var progress = await CampaignProgressDisplay.FollowAsync(token => ProgressAsync(host, campaignId, token), output, cancellationToken);
        if (progress is null)
        {
            await Console.Error.WriteLineAsync($"No campaign {campaignId}.");
            return ExitNotFound;
        }
        return progress.Failed == 0 ? ExitOk : ExitFailed;
    }

    private static async Task<CampaignProgress?> ProgressAsync(IHost host, Guid campaignId, CancellationToken cancellationToken)
    {
        await using var scope = host.Services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<CampaignStore>().ProgressAsync(campaignId, cancellationToken);
    }

    private static string GeneratePortalLinkBulkQueue => Links.GeneratePortalLinkBulkConsumerDefinition.QueueName;

    private static IHost BuildHost(string[] settings)
    {
        var builder = PortalLinkWorkerHost.CreateBuilder(settings);
        builder.AddPortalLinkLogging();
        builder.Services.AddPortalLinkOptions();
        builder.Services.AddPortalLinkDatabase();
        return builder.Build();
    }

    /// <summary>A bus that only sends and publishes (no receive endpoint); each send completes on the broker's confirm.</summary>
    private static async Task<IBusControl> StartBusAsync(IHost host, CancellationToken cancellationToken)
    {
        var uri = host.Services.GetRequiredService<IConfiguration>().GetConnectionString("RabbitMq") ?? "";
        var address = RabbitMqAddress.TryParse(uri)
                      ?? throw new InvalidOperationException("ConnectionStrings:RabbitMq is missing or not an AMQP URI (environment variable ConnectionStrings__RabbitMq).");
        var bus = Bus.Factory.CreateUsingRabbitMq(rabbit => address.ApplyTo(rabbit));
        await bus.StartAsync(cancellationToken);
        return bus;
    }
}
