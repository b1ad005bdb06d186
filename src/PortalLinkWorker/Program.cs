using PortalLinkWorker.Cli;
using PortalLinkWorker.Hosting;
using PortalLinkWorker.Operations;
using Serilog;

Log.Logger = new LoggerConfiguration().WriteTo.Console().CreateBootstrapLogger();
try
{
    return await PortalLinkCommandLine.RunAsync(args);
}
catch (Exception e) when (e is not OperationCanceledException)
{
    // A settings error names the setting; the exception's own text may quote the value (a password, say).
    if (SettingsValidation.Describe(e) is { } problems)
    {
        Log.Fatal("Invalid settings:\n  {Problems:l}", string.Join("\n  ", problems));
        return ConfigurationCheck.InvalidSettings;
    }
    Log.Fatal(e, "PortalLinkWorker stopped: {Error}", e.Message);
    return 1;
}
finally
{
    await Log.CloseAndFlushAsync();
}
