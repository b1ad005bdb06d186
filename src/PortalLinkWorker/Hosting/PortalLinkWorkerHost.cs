namespace PortalLinkWorker.Hosting;

/// <summary>Creates the host builder the worker and its commands share.</summary>
public static class PortalLinkWorkerHost
{
    /// <summary>appsettings.json is read from beside the DLL, so the worker starts the same from any directory;
    /// environment variables (<c>Upflow__ApiKey</c>) and <c>--Upflow:ApiKey=…</c> arguments override it.</summary>
    public static HostApplicationBuilder CreateBuilder(string[] args) =>
        Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
        {
            Args = args,
            ContentRootPath = AppContext.BaseDirectory,
        });
}
