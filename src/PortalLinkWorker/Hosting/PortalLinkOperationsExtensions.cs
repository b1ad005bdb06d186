using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Npgsql;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using PortalLinkWorker.Operations;
using PortalLinkWorker.Telemetry;
using PortalLinkWorker.Links;

namespace PortalLinkWorker.Hosting;

/// <summary>What the people who run the worker look at: health checks, metrics and traces, the status page.</summary>
public static class PortalLinkOperationsExtensions
{
    /// <summary>MassTransit's ActivitySource and Meter.</summary>
    public const string MassTransitSource = "MassTransit";

    public const string ServiceName = "portal-link-worker";

    /// <summary>Health checks tagged so are part of <c>/health/ready</c>.</summary>
    public const string ReadyTag = "ready";

    /// <summary>MassTransit's own bus check carries only this tag: <see cref="RabbitMqHealthCheck"/> reads the bus for
    /// readiness instead (see there why).</summary>
    public const string MassTransitTag = "masstransit";

    public static IServiceCollection AddPortalLinkHealthChecks(this IServiceCollection services)
    {
        services.AddHealthChecks()
            .AddCheck<RabbitMqHealthCheck>("rabbitmq", HealthStatus.Unhealthy, [ReadyTag])
            .AddCheck<PostgresHealthCheck>("postgres", HealthStatus.Unhealthy, [ReadyTag], PostgresHealthCheck.Timeout + TimeSpan.FromSeconds(1))
            .AddCheck<UpflowHealthCheck>("upflow", HealthStatus.Unhealthy, [ReadyTag]);
        return services;
    }

    /// <summary>
    /// Metrics: our own meter (<see cref="WorkerMeter.Name"/>), ASP.NET Core's and the runtime's, plus MassTransit's,
    /// HttpClient's and Npgsql's when <see cref="TelemetryOptions.LibraryMetrics"/> is on, scraped at <c>/metrics</c>. Traces: MassTransit (which carries the trace context in message headers,
    /// so a request's trace runs from the publisher through the Upflow call to the published event), HttpClient and
    /// Npgsql. Both go to an OTLP collector only when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set (the OpenTelemetry SDK's
    /// usual variables apply: <c>OTEL_EXPORTER_OTLP_PROTOCOL</c>, <c>OTEL_SERVICE_NAME</c>, …).
    /// </summary>
    public static IHostApplicationBuilder AddPortalLinkTelemetry(this IHostApplicationBuilder builder)
    {
        var otlp = !string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]);
        var libraryMetrics = builder.Configuration.GetSection(TelemetryOptions.Section).Get<TelemetryOptions>()?.LibraryMetrics == true;
        var telemetry = builder.Services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService(builder.Configuration["OTEL_SERVICE_NAME"] ?? ServiceName,
                serviceInstanceId: Environment.MachineName))
            .WithMetrics(metrics =>
            {
                if (libraryMetrics)
                    metrics.AddMeter(MassTransitSource).AddHttpClientInstrumentation().AddNpgsqlInstrumentation();
                metrics.AddMeter(WorkerMeter.Name)
                    .AddAspNetCoreInstrumentation()
                    .AddRuntimeInstrumentation()
                    // No cached scrape: a scraper every few seconds costs little, and a cached one hides a counter's move.
                    .AddPrometheusExporter(prometheus => prometheus.ScrapeResponseCacheDurationMilliseconds = 0);
                if (otlp)
                    metrics.AddOtlpExporter();
            });
        // Spans are made only when something takes them: with no collector, a span per command and call would cost CPU
        // for every link and go nowhere. (MassTransit still passes the publisher's trace context on in the headers.)
        if (otlp)
            telemetry.WithTracing(tracing =>
            {
                tracing.AddSource(MassTransitSource)
                    // Spans carry url.full with the customer id in the path; the instrumentation drops query strings and
                    // user info, and never records bodies or headers (X-Api-Secret).
                    .AddHttpClientInstrumentation()
                    .AddAspNetCoreInstrumentation(web =>
                        // Health probes and scrapes every few seconds would drown the traces that matter.
                        web.Filter = context => !IsOperationsPath(context.Request.Path))
                    .AddNpgsql()
                    .AddOtlpExporter();
            });
        return builder;
    }

    public static IServiceCollection AddPortalLinkStatus(this IServiceCollection services)
    {
        services.AddSingleton<LinkOutcomes>();
        services.AddSingleton<QueueDepths>();
        services.AddSingleton<StatusService>();
        services.AddSingleton<Campaigns.CampaignMonitor>();
        services.AddHostedService(sp => sp.GetRequiredService<Campaigns.CampaignMonitor>());
        services.AddSingleton<CampaignStatusSource, CampaignMonitorStatus>();
        return services;
    }

    /// <summary><c>/health/live</c>, <c>/health/ready</c>, <c>/metrics</c>, <c>/status.json</c> and the status page at <c>/</c>.</summary>
    public static IEndpointRouteBuilder MapPortalLinkEndpoints(this IEndpointRouteBuilder app)
    {
        // Live: the process answers HTTP. Nothing else: a broker or database outage must not get the worker restarted.
        app.MapHealthChecks("/health/live", new HealthCheckOptions
        {
            Predicate = _ => false,
            ResponseWriter = HealthResponseWriter.WriteAsync,
        });
        // Ready: able to make progress. Unhealthy → 503; Degraded (a 429 pause, a paused endpoint) → 200.
        app.MapHealthChecks("/health/ready", new HealthCheckOptions
        {
            Predicate = check => check.Tags.Contains(ReadyTag),
            ResponseWriter = HealthResponseWriter.WriteAsync,
        });
        app.MapPrometheusScrapingEndpoint("/metrics");
        app.MapGet("/status.json", async (StatusService status, HttpContext context, IOptions<OperationsOptions> options) =>
        {
            StatusPageSecurity.AddHeaders(context.Response, page: false);
            context.Response.Headers.CacheControl = "no-store";
            if (!StatusPageSecurity.IsAuthorized(context.Request, options.Value.StatusToken))
                return Unauthorized(context);
            return Results.Json(await status.ReadAsync(context.RequestAborted), StatusJson.Options);
        });
        app.MapGet("/", (HttpContext context, IOptions<OperationsOptions> options) =>
        {
            StatusPageSecurity.AddHeaders(context.Response, page: true);
            return StatusPageSecurity.IsAuthorized(context.Request, options.Value.StatusToken)
                ? Results.Stream(StatusPage.Open(), "text/html; charset=utf-8")
                : Unauthorized(context);
        });
        return app;
    }

    private static IResult Unauthorized(HttpContext context)
    {
        context.Response.Headers.WWWAuthenticate = "Bearer";
        return Results.StatusCode(StatusCodes.Status401Unauthorized);
    }

    private static bool IsOperationsPath(PathString path) =>
        path.StartsWithSegments("/health") || path.StartsWithSegments("/metrics") || path.StartsWithSegments("/status.json") || path == "/";
}
