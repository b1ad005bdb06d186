using PortalLinkWorker.Hosting;
using PortalLinkWorker.Persistence;

namespace PortalLinkWorker.Cli;

/// <summary><c>PortalLinkWorker migrate</c>: applies the committed migrations and exits.</summary>
public static class MigrateCommand
{
    public static async Task<int> RunAsync(string[] args)
    {
        var builder = PortalLinkWorkerHost.CreateBuilder(args);
        builder.AddPortalLinkLogging();
        builder.Services.AddPortalLinkOptions();
        builder.Services.AddPortalLinkDatabase();
        builder.Services.AddSingleton<DatabaseMigrator>();
        using var host = builder.Build();
        await host.Services.GetRequiredService<DatabaseMigrator>().MigrateAsync(CancellationToken.None);
        return 0;
    }
}
