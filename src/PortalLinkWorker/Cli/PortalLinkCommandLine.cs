using System.CommandLine;
using System.CommandLine.Invocation;
using PortalLinkWorker.Hosting;

namespace PortalLinkWorker.Cli;

/// <summary>
/// The command line, parsed by System.CommandLine: help on every command (<c>-h</c>, <c>--help</c>, <c>-?</c>, or
/// <c>help</c>), errors that name the bad argument (exit 64), and shell completion through <c>dotnet-suggest</c> (the
/// <c>[suggest]</c> directive). No command runs the worker. Every command also takes the worker's settings as
/// <c>--Section:Key=value</c> arguments, anywhere on the line.
/// </summary>
public static class PortalLinkCommandLine
{
    /// <summary>A command line that does not parse (sysexits' EX_USAGE).</summary>
    public const int ExitUsage = 64;

    // Response files (@file) are off: a customer id or a name starting with '@' is data, never a path to read.
    private static readonly ParserConfiguration Parser = new() { ResponseFileTokenReplacer = null };

    public static async Task<int> RunAsync(string[] args, TextWriter? output = null, CancellationToken cancellationToken = default)
    {
        var context = new CommandContext(output ?? Console.Out);
        var root = Create(context, args);
        var line = args;
        if (args.Length > 0 && root.Subcommands.Any(c => c.Name == args[0]))
        {
            // Settings are the host's, not the command's: taken off the line before it is parsed, so that one before a
            // positional argument is never read as that argument.
            var options = OptionNames(root);
            context.Settings = [.. args.Where(a => IsSetting(a, options))];
            line = [.. args.Where(a => !IsSetting(a, options))];
        }
        var parse = root.Parse(line, Parser);
        // The root lets unmatched tokens through for the worker's host; a command has none left once its settings are out.
        var unmatched = parse.CommandResult.Command is RootCommand ? [] : parse.UnmatchedTokens;
        if (parse.Action is ParseErrorAction || unmatched.Count > 0)
        {
            foreach (var error in parse.Errors)
                await Console.Error.WriteLineAsync(error.Message);
            foreach (var token in unmatched)
                await Console.Error.WriteLineAsync($"Unrecognized argument '{token}'.");
            await Console.Error.WriteLineAsync($"Run 'PortalLinkWorker {(parse.CommandResult.Command is RootCommand ? "" : CommandPath(parse) + " ")}--help' for usage.");
            return ExitUsage;
        }
        return await parse.InvokeAsync(new InvocationConfiguration
        {
            Output = context.Output,
            // Settings errors reach Program, which names them without their values.
            EnableDefaultExceptionHandler = false,
            // SIGTERM and Ctrl+C are the host's: it drains messages in flight for Consumer:StopTimeout.
            ProcessTerminationTimeout = null,
        }, cancellationToken);
    }

    private static RootCommand Create(CommandContext context, string[] args)
    {
        var root = new RootCommand("""
            PortalLinkWorker: with no command, runs the worker (consumes generate-portal-link, generate-portal-link-bulk
            and start-portal-link-campaign until stopped), with /health/live, /health/ready, /metrics and the status page
            at / on Urls / ASPNETCORE_URLS (default http://127.0.0.1:8080).

            Settings come from appsettings.json beside the DLL, then environment variables (Upflow__ApiKey, ...), then
            --Section:Key=value arguments (any command).
            """)
        {
            // The worker's own arguments (--Upflow:ApiKey=…, --urls …) go to its host.
            TreatUnmatchedTokensAsErrors = false,
        };
        root.Subcommands.Add(MigrateCommand.Create(context));
        root.Subcommands.Add(RequestCommand.Create(context));
        root.Subcommands.Add(RedeliverErrorsCommand.Create(context));
        root.Subcommands.Add(CheckConfigCommand.Create(context));
        root.Subcommands.Add(HealthcheckCommand.Create(context));
        root.Subcommands.Add(CampaignCommand.Create(context));
        root.Subcommands.Add(LinksCommand.Create(context));
        root.Subcommands.Add(LinksCommand.CreateReencrypt(context));
        var help = new Command("help", "show this text (help <command>: that command's)");
        var topic = new Argument<string[]>("command") { Arity = ArgumentArity.ZeroOrMore };
        help.Arguments.Add(topic);
        help.SetAction(result => root.Parse([.. result.GetValue(topic) ?? [], "--help"], Parser).Invoke(result.InvocationConfiguration));
        root.Subcommands.Add(help);

        root.SetAction(async (result, _) =>
        {
            // A first word that is no command is a typo, never a reason to start a worker that consumes the queue.
            if (args.Length > 0 && !args[0].StartsWith('-'))
            {
                await Console.Error.WriteLineAsync($"Unknown command '{args[0]}'. Run 'PortalLinkWorker --help' for the commands.");
                return ExitUsage;
            }
            await using var app = PortalLinkWorkerHost.BuildWorker(args);
            await app.RunAsync();
            return 0;
        });
        return root;
    }

    /// <summary><c>--Section:Key=value</c>, or <c>--Key=value</c> for a key that is no option of a command.</summary>
    private static bool IsSetting(string token, IReadOnlySet<string> options)
    {
        var equals = token.IndexOf('=', StringComparison.Ordinal);
        return token.StartsWith("--", StringComparison.Ordinal) && equals > 2 &&
               (token.AsSpan(2, equals - 2).Contains(':') || !options.Contains(token[..equals]));
    }

    private static HashSet<string> OptionNames(Command command)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var option in command.Options)
        {
            names.Add(option.Name);
            names.UnionWith(option.Aliases);
        }
        foreach (var sub in command.Subcommands)
            names.UnionWith(OptionNames(sub));
        return names;
    }

    private static string CommandPath(ParseResult parse)
    {
        var names = new List<string>();
        for (var result = parse.CommandResult; result.Command is not RootCommand; result = (System.CommandLine.Parsing.CommandResult)result.Parent!)
            names.Insert(0, result.Command.Name);
        return string.Join(' ', names);
    }
}
