using System.Text.Json;
using System.Text.Json.Nodes;

namespace UpflowSimulator;

/// <summary>Converts <see cref="SimulatorOptions"/> to and from the camelCase JSON of the config endpoint.</summary>
internal static class OptionsJson
{
    private const string MaskedSecret = "***";

    public static JsonObject Masked(SimulatorOptions options)
    {
        var view = ToJson(options);
        view["apiSecret"] = MaskedSecret;
        return view;
    }

    /// <summary>
    /// Returns <paramref name="current"/> with the named options of <paramref name="changes"/> replaced (names
    /// compared case-insensitively), or null and a message when a name is unknown or a value is invalid.
    /// </summary>
    public static SimulatorOptions? Merge(SimulatorOptions current, JsonObject changes, out string? error)
    {
        var merged = ToJson(current);
        foreach (var (name, value) in changes)
        {
            var known = merged.Select(p => p.Key).FirstOrDefault(key => string.Equals(key, name, StringComparison.OrdinalIgnoreCase));
            if (known is null)
            {
                error = $"Unknown option '{name}'; known options: {string.Join(", ", merged.Select(p => p.Key))}";
                return null;
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
            error = $"Invalid option value: {exception.Message}";
            return null;
        }

        if (options is not null && options.AdminEndpoints != current.AdminEndpoints)
        {
            error = "adminEndpoints is read at start only";
            return null;
        }

        error = options is null ? "options must not be null" : options.Validate();
        return error is null ? options : null;
    }

    private static JsonObject ToJson(SimulatorOptions options) =>
        JsonSerializer.SerializeToNode(options, JsonSerializerOptions.Web)!.AsObject();
}
