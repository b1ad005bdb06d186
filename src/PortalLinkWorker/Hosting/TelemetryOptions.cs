namespace PortalLinkWorker.Hosting;

/// <summary>Settings of the <c>Telemetry</c> section.</summary>
public sealed class TelemetryOptions
{
    public const string Section = "Telemetry";

    /// <summary>Also export MassTransit's, HttpClient's and Npgsql's own metrics (per message, per HTTP call, per database
    /// command and connection). Default false: recording them was 6–8 % of the worker's CPU in a profile of the throughput
    /// benchmark, and the worker's own meter already counts links, Upflow calls by status and duration, throttling and
    /// pauses. Turn on to look inside those libraries (<c>Telemetry__LibraryMetrics=true</c>).</summary>
    public bool LibraryMetrics { get; set; }
}
