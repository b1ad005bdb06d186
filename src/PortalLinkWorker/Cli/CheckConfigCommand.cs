using PortalLinkWorker.Hosting;
using PortalLinkWorker.Operations;
using PortalLinkWorker.Upflow;

namespace PortalLinkWorker.Cli;

/// <summary><c>PortalLinkWorker check-config [--no-connect]</c>: see <see cref="ConfigurationCheck"/>.</summary>
public static class CheckConfigCommand
{
    public static async Task<int> RunAsync(string[] args)
    {
        var connect = !args.Contains("--no-connect");
        var builder = PortalLinkWorkerHost.CreateBuilder([.. args.Where(a => a != "--no-connect")]);
        // The report is the output; the libraries' own logging would interleave with it.
        builder.Logging.ClearProviders();
        builder.Services.AddPortalLinkOptions();
        builder.Services.AddPortalLinkDatabase();
        builder.Services.AddUpflowClient();
        using var host = builder.Build();
        return await new ConfigurationCheck(host.Services, builder.Configuration, Console.Out).RunAsync(connect, CancellationToken.None);
    }
}
