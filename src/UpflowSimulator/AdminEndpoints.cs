using System.Text.Json;
using System.Text.Json.Nodes;

namespace UpflowSimulator;

/// <summary>The unauthenticated <c>/_simulator/*</c> endpoints used by tests and demos to inspect and steer the simulator.</summary>
internal static class AdminEndpoints
{
    private const string MaskedSecret = "***";

    public static void Map(IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/_simulator");

        group.MapGet("/calls", (string? customerId, CallLog calls) => Results.Json(calls.Snapshot(customerId)));

        group.MapGet("/stats", (CallLog calls) =>
        {
            var (total, byStatus) = calls.Stats();
            return Results.Json(new { total, byStatus });
        });

        group.MapPost("/reset", (SimulatorState state, CallLog calls) =>
        {
            calls.Clear();
            state.Reset();
            return Results.NoContent();
        });

        group.MapGet("/config", (SimulatorState state) => Results.Json(Masked(state.Options)));

        group.MapPut("/config", PutConfigAsync);
    }

    private static async Task<IResult> PutConfigAsync(HttpRequest request, SimulatorState state, ILoggerFactory loggerFactory)
    {
        JsonObject? changes;
        try
        {
            changes = await JsonNode.ParseAsync(request.Body, cancellationToken: request.HttpContext.RequestAborted) as JsonObject;
        }
        catch (JsonException)
        {
            changes = null;
        }

        if (changes is null)
        {
            return Problem(StatusCodes.Status400BadRequest, "The body must be a JSON object of option names (camelCase) and values");
        }

        var merged = JsonSerializer.SerializeToNode(state.Options, JsonSerializerOptions.Web)!.AsObject();
        foreach (var (name, value) in changes)
        {
            var known = merged.Select(p => p.Key).FirstOrDefault(key => string.Equals(key, name, StringComparison.OrdinalIgnoreCase));
            if (known is null)
            {
                return Problem(StatusCodes.Status400BadRequest, $"Unknown option '{name}'; known options: {string.Join(", ", merged.Select(p => p.Key))}");
            }

            merged[known] = value?.DeepClone();
        }

        SimulatorOptions? options;
        try
        {
            options = merged.Deserialize<SimulatorOptions>(JsonSerializerOptions.Web);
        }
        catch (JsonException exception)
        {
            return Problem(StatusCodes.Status400BadRequest, $"Invalid option value: {exception.Message}");
        }

        var error = options is null ? "options must not be null" : options.Validate();
        if (error is not null)
        {
            return Problem(StatusCodes.Status400BadRequest, error);
        }

        state.Replace(options!);
        var view = Masked(options!);
        loggerFactory.CreateLogger(typeof(AdminEndpoints)).LogInformation("Simulator options replaced: {Options}", view.ToJsonString());
        return Results.Json(view);
    }

    private static JsonObject Masked(SimulatorOptions options)
    {
        var view = JsonSerializer.SerializeToNode(options, JsonSerializerOptions.Web)!.AsObject();
        view["apiSecret"] = MaskedSecret;
        return view;
    }

    private static IResult Problem(int status, string message) => Results.Json(new { message }, statusCode: status);
}
