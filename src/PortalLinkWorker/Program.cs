using PortalLinkWorker.Cli;
using Serilog;

Log.Logger = new LoggerConfiguration().WriteTo.Console().CreateBootstrapLogger();
try
{
    return await WorkerCommands.RunAsync(args);
}
catch (Exception e) when (e is not OperationCanceledException)
{
    Log.Fatal(e, "PortalLinkWorker stopped: {Error}", e.Message);
    return 1;
}
finally
{
    await Log.CloseAndFlushAsync();
}
