namespace PortalLinkWorker.TestKit;

/// <summary>One outcome event (or fault) of a request: its kind, when it arrived (a Stopwatch timestamp), for failures
/// and faults why, and the message itself.</summary>
public sealed record Outcome(Guid RequestId, OutcomeKind Kind, long At, string? Detail, object Message);
