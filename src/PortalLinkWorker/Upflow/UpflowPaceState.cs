namespace PortalLinkWorker.Upflow;

/// <summary>Where Upflow calls stand (<see cref="UpflowPace.State"/>). <see cref="PausedSince"/> is set for an outage or
/// refused credentials, <see cref="PausedUntil"/> for a 429 pause; <see cref="Rate"/> is the rate in force, calls per
/// second, as this process last saw the shared budget.</summary>
public sealed record UpflowPaceState(UpflowPhase Phase, DateTimeOffset? PausedSince, DateTimeOffset? PausedUntil, bool HalfOpen, double Rate);
