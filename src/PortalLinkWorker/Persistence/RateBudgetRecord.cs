using PortalLinkWorker.Upflow;

namespace PortalLinkWorker.Persistence;

/// <summary>One row of <c>upflow_rate_budgets</c>: the shared <see cref="RateBudgetState"/> of one Upflow account.</summary>
public sealed class RateBudgetRecord
{
    /// <summary>A fingerprint of the account (base URL and API key), never the key itself.</summary>
    public string Account { get; set; } = "";
    public double Tokens { get; set; }
    public DateTimeOffset RefilledAt { get; set; }
    public DateTimeOffset PausedUntil { get; set; }
    public double Rate { get; set; }
    public DateTimeOffset RateChangedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }

    /// <summary>Calls Upflow admitted per quarter second over the last minute (<see cref="AdmissionLog"/>).</summary>
    public int[] AdmittedSlots { get; set; } = new int[AdmissionLog.SlotCount];

    /// <summary>The slot number (quarter seconds since 1970) of the newest entry of <see cref="AdmittedSlots"/>.</summary>
    public long AdmittedLatestSlot { get; set; }

    /// <summary>When the call that drew the current pause's first 429 was sent; null when no 429 awaits its estimate.</summary>
    public DateTimeOffset? ThrottledAt { get; set; }

    /// <summary>The pause that 429 asked for.</summary>
    public TimeSpan ThrottledPause { get; set; }

    public RateBudgetState ToState() => new(Tokens, RefilledAt, PausedUntil, Rate, RateChangedAt,
        AdmittedSlots.Length == AdmissionLog.SlotCount ? new AdmissionLog(AdmittedSlots, AdmittedLatestSlot) : AdmissionLog.Empty,
        ThrottledAt, ThrottledPause);

    public void Apply(RateBudgetState state, DateTimeOffset now)
    {
        Tokens = state.Tokens;
        RefilledAt = state.RefilledAt;
        PausedUntil = state.PausedUntil;
        Rate = state.Rate;
        RateChangedAt = state.RateChangedAt;
        AdmittedSlots = state.Admitted.Slots;
        AdmittedLatestSlot = state.Admitted.LatestSlot;
        ThrottledAt = state.ThrottledAt;
        ThrottledPause = state.ThrottledPause;
        UpdatedAt = now;
    }
}
