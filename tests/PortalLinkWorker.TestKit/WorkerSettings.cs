using System.Globalization;

namespace PortalLinkWorker.TestKit;

/// <summary>
/// The configuration keys every worker under test or benchmark is given: where PostgreSQL, RabbitMQ and the simulator
/// are, and the simulator's credentials. Every other key keeps its options class's default unless the caller adds it.
/// </summary>
public static class WorkerSettings
{
    /// <summary>Where the simulator's portal links are (<c>Upflow:PortalHosts</c>).</summary>
    public const string SimulatorPortalHost = "portal.upflow-simulator.invalid";

    /// <summary>A <c>Database:UrlKeys</c> made for this process: every worker it starts (and restarts) reads the rows the
    /// others wrote. A test of rotation makes keys of its own with <see cref="NewUrlKey"/>.</summary>
    public static readonly string UrlKeys = NewUrlKey();

    /// <summary>A new random 256-bit key, base64, as <c>scripts/url-key.sh</c> makes one.</summary>
    public static string NewUrlKey() => Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));

    public static Dictionary<string, string> For(string postgres, string rabbitMq, string simulatorUrl, string apiKey,
        string apiSecret, double maxRequestsPerSecond) => new()
    {
        ["ConnectionStrings:Postgres"] = postgres,
        ["ConnectionStrings:RabbitMq"] = rabbitMq,
        ["Upflow:BaseUrl"] = $"{simulatorUrl}/v1",
        ["Upflow:ApiKey"] = apiKey,
        ["Upflow:ApiSecret"] = apiSecret,
        ["Upflow:PortalHosts"] = SimulatorPortalHost,
        ["Database:UrlKeys"] = UrlKeys,
        // 0 turns the worker's own budget off (a simulator without a rate limit).
        ["Upflow:MaxRequestsPerSecond"] = maxRequestsPerSecond.ToString(CultureInfo.InvariantCulture),
    };

    /// <summary><paramref name="settings"/> with <paramref name="overrides"/> on top (an override wins).</summary>
    public static Dictionary<string, string> With(this IReadOnlyDictionary<string, string> settings,
        IReadOnlyDictionary<string, string>? overrides)
    {
        var merged = new Dictionary<string, string>(settings);
        foreach (var (key, value) in overrides ?? new Dictionary<string, string>())
            merged[key] = value;
        return merged;
    }

    /// <summary>A configuration key as an environment variable (<c>Upflow:BaseUrl</c> → <c>Upflow__BaseUrl</c>).</summary>
    public static string EnvironmentName(string key) => key.Replace(":", "__", StringComparison.Ordinal);

    /// <summary>The settings as command-line arguments (<c>--Upflow:BaseUrl=…</c>), for a command run in this process.</summary>
    public static string[] AsArguments(this IReadOnlyDictionary<string, string> settings) =>
        [.. settings.Select(s => $"--{s.Key}={s.Value}")];

    /// <summary>The Serilog levels that make a child worker's output say what it did (or keep it quiet).</summary>
    public static Dictionary<string, string> LogLevel(string minimumLevel) => new()
    {
        ["Serilog:MinimumLevel:Default"] = minimumLevel,
        ["Serilog:MinimumLevel:Override:Microsoft"] = minimumLevel,
        ["Serilog:MinimumLevel:Override:MassTransit"] = minimumLevel,
        ["Serilog:MinimumLevel:Override:Microsoft.EntityFrameworkCore"] = minimumLevel,
        ["Serilog:MinimumLevel:Override:Polly"] = minimumLevel,
    };
}
