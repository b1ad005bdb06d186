namespace PortalLinkWorker.Upflow;

/// <summary>What <see cref="UpflowAvailability.Changed"/> reports.</summary>
public enum UpflowAvailabilityChange
{
    /// <summary>Calls are paused (outage or refused credentials), or a trial failed and the pause holds.</summary>
    Paused,

    /// <summary>The pause lets one queued request try Upflow.</summary>
    HalfOpen,

    /// <summary>Upflow answered: calls resume.</summary>
    Resumed,
}
