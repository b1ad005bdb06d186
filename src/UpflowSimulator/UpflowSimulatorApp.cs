using System.Text.Json.Nodes;

namespace UpflowSimulator;

/// <summary>
/// Builds the Upflow simulator: a stand-in for Upflow's customer-portal API used by the demo,
/// the integration tests and the benchmarks. It announces itself as a simulator everywhere.
/// </summary>
public static class UpflowSimulatorApp
{
    /// <summary>Header added to every answer.</summary>
    public const string SimulatorHeader = "X-Upflow-Simulator";

    private const string HomeText = """
        Upflow SIMULATOR - this is not Upflow.
        A stand-in for Upflow's customer-portal API, for demos, tests and benchmarks.

        POST /v1/customers/{customerId}/portal    X-Api-Key, X-Api-Secret; body {"expiresIn": 86400, "frameAncestors": "host.example"}
        With Simulator:AdminEndpoints=true (off by default):
        GET  /_simulator/calls[?customerId=...]   recorded portal calls
        GET  /_simulator/stats                    call counts by status, calls in flight and their peak
        POST /_simulator/reset                    clear calls, stats, peak, rate-limit state and sim-fail counters
        GET  /_simulator/config                   current options
        PUT  /_simulator/config                   merge a JSON object of options into the current ones

        """;

    /// <summary>
    /// Builds the simulator without starting it. Settings come from <c>appsettings.json</c> next to the
    /// assembly, environment variables and <paramref name="args"/> (for example <c>--urls http://127.0.0.1:0</c>).
    /// </summary>
    public static WebApplication Build(string[] args)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            Args = args,
            ContentRootPath = AppContext.BaseDirectory,
        });

        // appsettings.json carries the default Urls and is read after the ASPNETCORE_ variables, so those are
        // added again to let ASPNETCORE_URLS override it; the command line is added again to stay on top.
        builder.Configuration.AddEnvironmentVariables("ASPNETCORE_");
        builder.Configuration.AddCommandLine(args);

        var options = ReadOptions(builder.Configuration);
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton(services => new SimulatorState(options, services.GetRequiredService<TimeProvider>()));
        builder.Services.AddSingleton<CallLog>();
        builder.Services.AddSingleton<PortalEndpoint>();

        var app = builder.Build();
        app.Use((context, next) =>
        {
            context.Response.Headers[SimulatorHeader] = "true";
            return next(context);
        });

        app.MapGet("/", () => Results.Text(HomeText));
        app.MapPost("/v1/customers/{customerId}/portal", context => context.RequestServices.GetRequiredService<PortalEndpoint>().HandleAsync(context));
        if (options.AdminEndpoints)
        {
            AdminEndpoints.Map(app);
        }

        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(UpflowSimulatorApp).FullName!);
        app.Lifetime.ApplicationStarted.Register(() =>
            logger.LogInformation("Upflow SIMULATOR listening on {Urls} — this is not Upflow", string.Join(", ", app.Urls)));

        return app;
    }

    private static SimulatorOptions ReadOptions(IConfiguration configuration)
    {
        var section = configuration.GetSection(SimulatorOptions.SectionName);
        var options = section.Get<SimulatorOptions>() ?? new SimulatorOptions();
        var error = options.Validate();

        // The binder appends configured list items to the default prefixes; configured prefixes replace them instead.
        if (error is null && section.GetSection(nameof(SimulatorOptions.UnknownCustomerPrefixes)).Get<string[]>() is { } prefixes)
        {
            var changes = new JsonObject { ["unknownCustomerPrefixes"] = new JsonArray([.. prefixes.Select(p => JsonValue.Create(p))]) };
            options = OptionsJson.Merge(options, changes, out error) ?? options;
        }

        return error is null
            ? options
            : throw new InvalidOperationException($"Invalid {SimulatorOptions.SectionName} configuration: {error}");
    }
}
