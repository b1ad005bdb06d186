namespace UpflowSimulator;

/// <summary>
/// One POST to the portal endpoint as the simulator saw it. <see cref="CustomerId"/> is the decoded id;
/// <see cref="Status"/> is 499 when the caller went away before the answer. <see cref="At"/> is when the call arrived,
/// which is when the rate limiter counted it.
/// </summary>
public sealed record CallRecord(
    string CustomerId,
    int? ExpiresIn,
    string? FrameAncestors,
    int Status,
    DateTimeOffset At,
    bool BodyHadFrameAncestors);
