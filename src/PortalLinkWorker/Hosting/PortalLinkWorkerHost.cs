using Microsoft.AspNetCore.Builder;

namespace PortalLinkWorker.Hosting;

/// <summary>Creates the host builders the worker and its commands share.</summary>
public static class PortalLinkWorkerHost
{
    /// <summary>Where the worker's HTTP endpoint (health, metrics, status page) listens when neither <c>Urls</c> /
    /// <c>ASPNETCORE_URLS</c> / <c>--urls</c> nor <c>ASPNETCORE_HTTP_PORTS</c> says otherwise: the loopback interface
    /// only, so a worker started on a workstation or a shared host shows its status page to nobody else. The container
    /// images set <c>ASPNETCORE_HTTP_PORTS=8080</c> (every interface of the container).</summary>
    public const string DefaultUrls = "http://127.0.0.1:8080";

    /// <summary>For the commands (migrate, request, …): no web server. appsettings.json is read from beside the DLL, so
    /// the worker starts the same from any directory; environment variables (<c>Upflow__ApiKey</c>) and
    /// <c>--Upflow:ApiKey=…</c> arguments override it.</summary>
    public static HostApplicationBuilder CreateBuilder(string[] args) =>
        Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
        {
            Args = args,
            ContentRootPath = AppContext.BaseDirectory,
        });

    /// <summary>The Host names the operations endpoints answer when <c>AllowedHosts</c> is not configured: loopback only.</summary>
    public const string DefaultAllowedHosts = "localhost;127.0.0.1;[::1]";

    /// <summary>For the running worker: the same configuration, plus the HTTP endpoint of <see cref="DefaultUrls"/>
    /// unless configured.</summary>
    public static WebApplicationBuilder CreateWebBuilder(string[] args)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            Args = args,
            ContentRootPath = AppContext.BaseDirectory,
        });
        // Added only when nothing chose an address, so ASPNETCORE_URLS, Urls, --urls and ASPNETCORE_HTTP_PORTS (set by
        // Microsoft's container images) keep their usual meaning; sources added later (tests) still override it.
        if (string.IsNullOrEmpty(builder.Configuration["urls"]) && string.IsNullOrEmpty(builder.Configuration["http_ports"]) &&
            string.IsNullOrEmpty(builder.Configuration["https_ports"]))
            builder.Configuration.AddInMemoryCollection([KeyValuePair.Create("urls", (string?)DefaultUrls)]);
        // The host filter (DNS rebinding) does not depend on which appsettings.json sits beside the binary: a build
        // output shared with another app (the tests', the benches') may carry that app's file instead of ours.
        if (string.IsNullOrEmpty(builder.Configuration["AllowedHosts"]))
            builder.Configuration.AddInMemoryCollection([KeyValuePair.Create("AllowedHosts", (string?)DefaultAllowedHosts)]);
        return builder;
    }

    /// <summary>The worker as it runs: everything of <see cref="PortalLinkWorkerServiceExtensions.AddPortalLinkWorker"/>
    /// and the operators' endpoints.</summary>
    public static WebApplication BuildWorker(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = CreateWebBuilder(args);
        configure?.Invoke(builder);
        // Every bad setting at once, rather than the first one the start happens to trip on.
        SettingsValidation.ThrowIfInvalid(builder.Configuration);
        builder.AddPortalLinkWorker();
        var app = builder.Build();
        app.MapPortalLinkEndpoints();
        return app;
    }
}
