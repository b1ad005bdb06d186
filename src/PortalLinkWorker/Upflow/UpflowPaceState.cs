namespace PortalLinkWorker.Upflow;

/// <summary>Where Upflow calls stand (<see cref="UpflowPace.State"/>). <see cref="PausedSince"/> is set for an outage,
/// refused credentials or an unreadable answer, <see cref="PausedUntil"/> for a 429 pause; <see cref="Rate"/> is the rate
/// in force, calls per second, as this process last saw the shared budget. <see cref="Unreadable"/> describes, without
/// its values, the answer that paused calls in <see cref="UpflowPhase.AnswerUnreadable"/>.</summary>
public sealed record UpflowPaceState(UpflowPhase Phase, DateTimeOffset? PausedSince, DateTimeOffset? PausedUntil, bool HalfOpen, double Rate,
    UnreadableAnswer? Unreadable = null);
