namespace PortalLinkWorker.Telemetry;

/// <summary>The name of the worker's <see cref="System.Diagnostics.Metrics.Meter"/>.</summary>
public static class WorkerMeter
{
    public const string Name = "PortalLinkWorker";
}
