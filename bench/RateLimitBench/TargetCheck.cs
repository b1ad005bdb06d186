namespace RateLimitBench;

/// <summary>One target of the issue, the figure measured for it and whether the figure meets it.</summary>
internal sealed record TargetCheck(string Target, string Measured, bool Pass);
