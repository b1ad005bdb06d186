namespace PortalLinkWorker.Upflow;

/// <summary>Upflow calls are paused for longer than a message may wait in memory: the message goes back to the queue
/// and consumption pauses. Not a failure of the message.</summary>
public sealed class UpflowPausedException(string reason, DateTimeOffset? until)
    : Exception(until is { } at ? $"Upflow calls are paused until {at:O}: {reason}" : $"Upflow calls are paused: {reason}")
{
    public string Reason { get; } = reason;

    /// <summary>When the pause ends, when that is known (a 429's reset); null while waiting for a probe.</summary>
    public DateTimeOffset? Until { get; } = until;
}
