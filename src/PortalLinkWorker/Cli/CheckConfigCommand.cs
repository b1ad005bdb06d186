using System.CommandLine;
using PortalLinkWorker.Hosting;
using PortalLinkWorker.Operations;
using PortalLinkWorker.Upflow;

namespace PortalLinkWorker.Cli;

/// <summary><c>PortalLinkWorker check-config [--no-connect]</c>: see <see cref="ConfigurationCheck"/>.</summary>
public static class CheckConfigCommand
{
    public static Command Create(CommandContext context)
    {
        var noConnect = new Option<bool>("--no-connect") { Description = "check the settings only; do not test the services" };
        var command = new Command("check-config", """
            print the effective settings (secrets masked), check them, and test RabbitMQ, PostgreSQL and Upflow
            (exit 0 all good, 1 a service failed, 2 a setting is invalid)
            """) { noConnect };
        command.SetAction((result, cancellationToken) => RunAsync(context, connect: !result.GetValue(noConnect), cancellationToken));
        return command;
    }

    private static async Task<int> RunAsync(CommandContext context, bool connect, CancellationToken cancellationToken)
    {
        var builder = PortalLinkWorkerHost.CreateBuilder(context.Settings);
        // The report is the output; the libraries' own logging would interleave with it.
        builder.Logging.ClearProviders();
        builder.Services.AddPortalLinkOptions();
        builder.Services.AddPortalLinkDatabase();
        builder.Services.AddUpflowClient();
        using var host = builder.Build();
        return await new ConfigurationCheck(host.Services, builder.Configuration, context.Output).RunAsync(connect, cancellationToken);
    }
}
