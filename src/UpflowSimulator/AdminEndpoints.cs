using System.Text.Json;
using System.Text.Json.Nodes;

namespace UpflowSimulator;

/// <summary>
/// The unauthenticated <c>/_simulator/*</c> endpoints used by tests and demos to inspect and steer the simulator; mapped
/// only when <see cref="SimulatorOptions.AdminEndpoints"/> is set, so a simulator left reachable cannot be reconfigured by anyone.
/// </summary>
internal static class AdminEndpoints
{
    public static void Map(IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/_simulator");

        group.MapGet("/calls", (string? customerId, CallLog calls) => Results.Json(calls.Snapshot(customerId)));

        group.MapGet("/stats", (CallLog calls, SimulatorState state) =>
        {
            var (total, byStatus) = calls.Stats();
            return Results.Json(new { total, byStatus, inFlight = state.InFlight, peakInFlight = state.PeakInFlight });
        });

        group.MapPost("/reset", (SimulatorState state, CallLog calls) =>
        {
            calls.Clear();
            state.Reset();
            return Results.NoContent();
        });

        group.MapGet("/config", (SimulatorState state) => Results.Json(OptionsJson.Masked(state.Options)));

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
            return Message(StatusCodes.Status400BadRequest, "The body must be a JSON object of option names (camelCase) and values");
        }

        var options = OptionsJson.Merge(state.Options, changes, out var error);
        if (options is null)
        {
            return Message(StatusCodes.Status400BadRequest, error!);
        }

        state.Replace(options);
        var view = OptionsJson.Masked(options);
        loggerFactory.CreateLogger(typeof(AdminEndpoints).FullName!).LogInformation("Simulator options replaced: {Options}", view.ToJsonString());
        return Results.Json(view);
    }

    private static IResult Message(int status, string message) => Results.Json(new { message }, statusCode: status);
}
