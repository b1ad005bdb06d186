using System.CommandLine;
using PortalLinkWorker.Hosting;
using PortalLinkWorker.Persistence;

namespace PortalLinkWorker.Cli;

/// <summary><c>PortalLinkWorker migrate</c>: applies the committed migrations and exits.</summary>
public static class MigrateCommand
{
    public static Command Create(CommandContext context)
    {
        var command = new Command("migrate", "apply the database migrations and exit");
        command.SetAction((_, cancellationToken) => RunAsync(context, cancellationToken));
        return command;
    }

    private static async Task<int> RunAsync(CommandContext context, CancellationToken cancellationToken)
    {
        var builder = PortalLinkWorkerHost.CreateBuilder(context.Settings);
        builder.AddPortalLinkLogging();
        builder.Services.AddPortalLinkOptions();
        builder.Services.AddPortalLinkDatabase();
        builder.Services.AddSingleton<DatabaseMigrator>();
        using var host = builder.Build();
        await host.Services.GetRequiredService<DatabaseMigrator>().MigrateAsync(cancellationToken);
        return 0;
    }
}
