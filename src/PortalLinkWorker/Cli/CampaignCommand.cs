using System.Globalization;
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
    private const int ExitUsage = 64;
    private const int ExitBadData = 65;
    private const int ExitNoInput = 66;

    /// <summary>How often --wait redraws the bar on a terminal, and writes a line when the output is not a terminal.</summary>
    private static readonly TimeSpan TerminalRefresh = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan LogRefresh = TimeSpan.FromSeconds(10);

    public static async Task<int> RunAsync(string[] args, TextWriter? output = null, CancellationToken cancellationToken = default)
    {
        output ??= Console.Out;
        var (options, error) = CampaignCommandOptions.Parse(args);
        if (error is not null)
        {
            await Console.Error.WriteLineAsync($"{error}\n\n{WorkerCommands.Usage}");
            return ExitUsage;
        }
        try
        {
            return options.Verb switch
            {
                "start" => await StartAsync(options, output, cancellationToken),
                "status" => await StatusAsync(options, output, cancellationToken),
                _ => await RetryFailedAsync(options, output, cancellationToken),
            };
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UndefinedTable)
        {
            await Console.Error.WriteLineAsync("The database has no campaign tables yet: start the worker once, or run `PortalLinkWorker migrate`.");
            return ExitFailed;
        }
    }

    private static async Task<int> StartAsync(CampaignCommandOptions options, TextWriter output, CancellationToken cancellationToken)
    {
        if (!File.Exists(options.File))
        {
            await Console.Error.WriteLineAsync($"No such file: {options.File}");
            return ExitNoInput;
        }
        using var host = BuildHost(options.Settings);
        var maxExpiresIn = host.Services.GetRequiredService<IConfiguration>().GetValue("Upflow:MaxExpiresIn", new UpflowOptions().MaxExpiresIn);

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
            options.Name ?? Path.GetFileNameWithoutExtension(options.File!), options.ExpiresIn, options.FrameAncestors);
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

    private static async Task<int> StatusAsync(CampaignCommandOptions options, TextWriter output, CancellationToken cancellationToken)
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
        await output.WriteLineAsync(CampaignProgressDisplay.Block(progress));
        return ExitOk;
    }

    private static async Task<int> RetryFailedAsync(CampaignCommandOptions options, TextWriter output, CancellationToken cancellationToken)
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
        var terminal = ReferenceEquals(output, Console.Out) && !Console.IsOutputRedirected;
        var refresh = terminal ? TerminalRefresh : LogRefresh;
        while (true)
        {
            var progress = await ProgressAsync(host, campaignId, cancellationToken);
            if (progress is null)
            {
                await Console.Error.WriteLineAsync($"No campaign {campaignId}.");
                return ExitNotFound;
            }
            var line = CampaignProgressDisplay.Line(progress, terminal);
            if (terminal)
                await output.WriteAsync($"\r{line}\u001b[K");
            else
                await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"[{DateTimeOffset.Now:HH:mm:ss}] {line}"));
            if (progress.IsCompleted)
            {
                if (terminal)
                    await output.WriteLineAsync();
                await output.WriteLineAsync(CampaignProgressDisplay.Block(progress));
                return progress.Failed == 0 ? ExitOk : ExitFailed;
            }
            await Task.Delay(refresh, cancellationToken);
        }
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
