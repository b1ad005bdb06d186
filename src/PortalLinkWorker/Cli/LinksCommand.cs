using System.CommandLine;
using System.Globalization;
using PortalLinkWorker.Hosting;
using PortalLinkWorker.Links;
using PortalLinkWorker.Persistence;

namespace PortalLinkWorker.Cli;

/// <summary>
/// <c>PortalLinkWorker links &lt;customerId&gt; [--show-url] [--limit N]</c>: the register of a customer's links — when,
/// by which request or campaign, valid until, reused or not, erased or not — newest first; the URL only with
/// <c>--show-url</c>. <c>PortalLinkWorker reencrypt-urls</c>: every stored URL written again under the first key of
/// <c>Database:UrlKeys</c> (after putting a new key first), including URLs stored in clear before encryption.
/// </summary>
public static class LinksCommand
{
    /// <summary>Exit code when some stored URL cannot be decrypted by any key given.</summary>
    public const int ExitUnreadable = 1;

    public static Command Create(CommandContext context)
    {
        var customerId = new Argument<string>("customerId")
        {
            Description = "the customer: an Upflow UUID or external:<id>",
            CustomParser = result =>
            {
                var value = result.Tokens.Count == 1 ? result.Tokens[0].Value : "";
                if (PortalLinkRequestValidator.ValidateCustomerId(value) is { } problem)
                    result.AddError(problem);
                return value;
            },
        };
        var showUrl = new Option<bool>("--show-url") { Description = "print each readable URL (a bearer credential: mind where the output goes)" };
        var limit = new Option<int>("--limit")
        {
            Description = "newest links shown (default 50)",
            HelpName = "n",
            DefaultValueFactory = _ => 50,
            CustomParser = result => CommandLineOptions.ParseInt(result, NumberStyles.None, "--limit takes a positive whole number.") is { } n and > 0 ? n : 50,
        };
        var command = new Command("links", "list a customer's links: when, by which request or campaign, valid until, reused, erased; the URL only with --show-url")
        {
            customerId, showUrl, limit,
        };
        command.SetAction((result, cancellationToken) =>
            ListAsync(context, result.GetRequiredValue(customerId), result.GetValue(showUrl), result.GetValue(limit), cancellationToken));
        return command;
    }

    public static Command CreateReencrypt(CommandContext context)
    {
        var command = new Command("reencrypt-urls", """
            write every stored portal URL again under the first key of Database:UrlKeys (after a new key was put first; also
            encrypts URLs stored in clear by an older version); safe to run while workers run, and to run again
            """);
        command.SetAction((_, cancellationToken) => ReencryptAsync(context, cancellationToken));
        return command;
    }

    private static async Task<int> ListAsync(CommandContext context, string customerId, bool showUrl, int limit, CancellationToken cancellationToken)
    {
        using var host = BuildHost(context);
        var links = await host.Services.GetRequiredService<StoredUrls>().ListAsync(customerId, showUrl, limit, cancellationToken);
        var output = context.Output;
        await output.WriteLineAsync($"{links.Count} link(s) of {customerId}, newest first{(links.Count == limit ? $" (the first {limit}; --limit for more)" : "")}:");
        foreach (var registered in links)
        {
            var link = registered.Link;
            await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"  {link.CreatedAt:u}  request {link.RequestId}  {link.Status}{(link.CampaignId is { } c ? $"  campaign {c}" : "")}"));
            if (link.Status == PortalLinkStatus.Generated)
                await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"      valid until {link.ExpiresAt:u}; {Origin(link)}; {UrlState(registered)}"));
            else if (link.FailureReason is { } reason)
                await output.WriteLineAsync($"      failed: {reason}");
            if (link.Url is { } url)
                await output.WriteLineAsync($"      url {url}");
        }
        return 0;
    }

    private static async Task<int> ReencryptAsync(CommandContext context, CancellationToken cancellationToken)
    {
        using var host = BuildHost(context);
        var result = await host.Services.GetRequiredService<StoredUrls>().ReencryptAsync(UrlErasureSweeper.BatchSize, cancellationToken);
        await context.Output.WriteLineAsync($"re-encrypted {result.Reencrypted} URL(s) under the first key of {UrlKeyRing.Setting}");
        if (result.Unreadable == 0)
            return 0;
        await context.Output.WriteLineAsync($"{result.Unreadable} URL(s) no key decrypts were left as they are: add their key back (after the first) and run this again");
        return ExitUnreadable;
    }

    private static string Origin(PortalLink link) => link.ReusedFrom is { } from
        ? $"reused from request {from} (no Upflow call)"
        : link.ReuseIfValidFor is not null ? "issued by Upflow (nothing valid long enough to reuse)" : "issued by Upflow";

    private static string UrlState(RegisteredLink registered) => registered switch
    {
        { Link.UrlErasedAt: { } erased } => string.Create(CultureInfo.InvariantCulture, $"URL erased {erased:u}"),
        { UrlStored: false } => "no URL stored",
        { UrlReadable: false } => "URL stored, but no key of Database:UrlKeys decrypts it",
        { UrlEncrypted: false } => "URL stored in clear by an older version: run reencrypt-urls",
        _ => "URL stored (encrypted)",
    };

    private static IHost BuildHost(CommandContext context)
    {
        var builder = PortalLinkWorkerHost.CreateBuilder(context.Settings);
        builder.Logging.ClearProviders();
        builder.Services.AddPortalLinkOptions();
        builder.Services.AddPortalLinkDatabase();
        return builder.Build();
    }
}
