using MassTransit;
using Npgsql;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using PortalLinkWorker.Campaigns;
using PortalLinkWorker.Links;
using PortalLinkWorker.Persistence;
using PortalLinkWorker.Upflow;
using Serilog;
using Serilog.Events;
using PortalLinkWorker.Messaging;
using PortalLinkWorker.Operations;

namespace PortalLinkWorker.Hosting;

/// <summary>The wiring of the worker, one method per concern; tests call the same methods.</summary>
public static class PortalLinkWorkerServiceExtensions
{
    /// <summary>Time on top of the consumers' stop timeout for the bus to close and the host to finish.</summary>
    private static readonly TimeSpan ShutdownMargin = TimeSpan.FromSeconds(5);

    /// <summary>Everything the running worker needs: options, logging, database, Upflow client, bus, and what operators
    /// look at (health checks, metrics and traces, the status page; their endpoints are mapped by
    /// <see cref="PortalLinkOperationsExtensions.MapPortalLinkEndpoints"/>).</summary>
    public static IHostApplicationBuilder AddPortalLinkWorker(this IHostApplicationBuilder builder)
    {
        builder.AddPortalLinkLogging();
        builder.AddPortalLinkTelemetry();
        builder.Services.AddPortalLinkOptions();
        builder.Services.AddPortalLinkDatabase();
        builder.Services.AddUpflowClient();
        builder.Services.AddPortalLinkStatus();
        builder.Services.AddPortalLinkHealthChecks();
        // Registered before the bus: hosted services start in order, so the schema is current before consuming.
        builder.Services.AddHostedService<DatabaseMigrator>();
        builder.Services.AddHostedService<ConnectionPoolCheck>();
        builder.Services.AddPortalLinkBus();
        // After the bus: its first sweep publishes through it.
        builder.Services.AddHostedService<CampaignCompletionSweeper>();
        builder.Services.AddHostedService<UrlErasureSweeper>();
        return builder;
    }

    public static IHostApplicationBuilder AddPortalLinkLogging(this IHostApplicationBuilder builder)
    {
        var json = builder.Configuration.GetSection(LoggingOptions.Section).Get<LoggingOptions>()?.IsJson == true;
        builder.Services.AddSerilog((_, log) =>
        {
            // The levels in code, so that they do not depend on which appsettings.json sits beside the binary; the
            // Serilog section still takes Serilog's usual settings (levels, overrides, more sinks) over them. The console
            // is ours.
            log.MinimumLevel.Information()
                .MinimumLevel.Override("Microsoft", LogEventLevel.Warning)
                .MinimumLevel.Override("Microsoft.Hosting.Lifetime", LogEventLevel.Information)
                .MinimumLevel.Override("Microsoft.EntityFrameworkCore", LogEventLevel.Warning)
                .MinimumLevel.Override("MassTransit", LogEventLevel.Information)
                .MinimumLevel.Override("Polly", LogEventLevel.Warning)
                .ReadFrom.Configuration(builder.Configuration)
                .Enrich.FromLogContext()
                .Enrich.With<RequestContextEnricher>();
            if (json)
                log.WriteTo.Console(new Serilog.Formatting.Compact.RenderedCompactJsonFormatter());
            else
                log.WriteTo.Console(outputTemplate: LoggingOptions.TextTemplate, formatProvider: System.Globalization.CultureInfo.InvariantCulture);
        });
        return builder;
    }

    /// <summary>Binds and validates (at start) every section of <see cref="PortalLinkOptionSections.All"/>.</summary>
    public static IServiceCollection AddPortalLinkOptions(this IServiceCollection services)
    {
        services.TryAddSingleton(TimeProvider.System);
        foreach (var section in PortalLinkOptionSections.All)
            section.Register(services);
        return services;
    }

    public static IServiceCollection AddPortalLinkDatabase(this IServiceCollection services)
    {
        // Every statement of the worker runs on this one data source (its pool); EF Core, there for the schema and the
        // migrations, uses it too. Two sessions are not from it, on purpose: the call slots' (PostgresSlotLocks: unpooled,
        // its advisory locks live as long as it does) and the health check's (DatabaseProbe: a small pool of its own, so a
        // probe never waits behind busy consumers).
        services.TryAddSingleton(sp =>
            new NpgsqlDataSourceBuilder(WithPreparedStatements(sp.GetRequiredService<IOptions<ConnectionOptions>>().Value.Postgres)).Build());
        // Pooled: a context otherwise costs a fresh set of EF Core services each time.
        services.AddDbContextPool<PortalLinkDbContext>((sp, db) => db.UseNpgsql(sp.GetRequiredService<NpgsqlDataSource>()));
        // Upflow's shared state lives in PostgreSQL; a test that registered in-memory stores first keeps them.
        services.TryAddSingleton<IRateBudgetStore, PostgresRateBudgetStore>();
        services.TryAddSingleton<IUpflowSlotLocks, PostgresSlotLocks>();
        services.TryAddSingleton<DatabaseProbe>();
        // Portal URLs are stored encrypted under Database:UrlKeys (validated at start: no key, no worker).
        services.TryAddSingleton(sp => new UrlProtector(sp.GetRequiredService<IOptions<UrlKeyOptions>>().Value.Ring));
        services.TryAddSingleton<StoredUrls>();
        services.AddScoped<PortalLinkStore>();
        services.AddScoped<CampaignStore>();
        services.AddScoped<CampaignCompletion>();
        services.AddScoped<ICampaignCompletion>(sp => sp.GetRequiredService<CampaignCompletion>());
        services.AddScoped<CampaignStarter>();
        return services;
    }

    /// <summary>Every link runs the same few statements, so each connection prepares them once (Npgsql's automatic
    /// preparation) and PostgreSQL stops parsing and planning them per link. A connection string that sets
    /// <c>Max Auto Prepare</c> itself (e.g. 0 behind a pooler without prepared-statement support) is left alone.</summary>
    internal static string WithPreparedStatements(string connectionString)
    {
        var given = new System.Data.Common.DbConnectionStringBuilder { ConnectionString = connectionString };
        if (given.Keys.Cast<string>().Any(k => k.Replace(" ", "").Equals("MaxAutoPrepare", StringComparison.OrdinalIgnoreCase)))
            return connectionString;
        return new NpgsqlConnectionStringBuilder(connectionString) { MaxAutoPrepare = 20 }.ConnectionString;
    }

    public static IServiceCollection AddPortalLinkBus(this IServiceCollection services)
    {
        services.AddSingleton<ConsumptionSwitch>();
        // The work both lanes' consumers do, one per message scope.
        services.AddScoped<PortalLinkRequestHandler>();
        services.AddMassTransit(bus =>
        {
            // MassTransit 8.5 otherwise posts a usage report to its vendor's server five minutes after start (and logs
            // the failure where there is no route out): nothing leaves this service but Upflow calls.
            bus.DisableUsageTelemetry();
            bus.AddConsumer<GeneratePortalLinkConsumer, GeneratePortalLinkConsumerDefinition>();
            bus.ConfigureHealthCheckOptions(health => health.Tags.Add(PortalLinkOperationsExtensions.MassTransitTag));
            bus.AddConsumer<GeneratePortalLinkBulkConsumer, GeneratePortalLinkBulkConsumerDefinition>();
            bus.AddConsumer<StartPortalLinkCampaignConsumer, StartPortalLinkCampaignConsumerDefinition>();
            bus.UsingRabbitMq((context, rabbit) =>
            {
                RabbitMqAddress.TryParse(context.GetRequiredService<IOptions<ConnectionOptions>>().Value.RabbitMq)!.ApplyTo(rabbit);
                // Publishers without MassTransit may send plain JSON (content type application/json) to the queue.
                rabbit.UseRawJsonDeserializer(isDefault: false);
                rabbit.ConfigureEndpoints(context);
            });
        });
        // Shutdown: new deliveries stop at once, messages in flight get Consumer:StopTimeout to finish (and are acked),
        // then the rest are cancelled and go back to the queue; the host waits a little longer than that.
        services.AddOptions<MassTransitHostOptions>().Configure<IOptions<ConsumerOptions>>((host, consumer) =>
        {
            host.WaitUntilStarted = true;
            host.ConsumerStopTimeout = consumer.Value.StopTimeout;
            host.StopTimeout = consumer.Value.StopTimeout + ShutdownMargin;
        });
        services.AddOptions<HostOptions>().Configure<IOptions<ConsumerOptions>>((host, consumer) =>
            host.ShutdownTimeout = consumer.Value.StopTimeout + ShutdownMargin + ShutdownMargin);
        return services;
    }
}
