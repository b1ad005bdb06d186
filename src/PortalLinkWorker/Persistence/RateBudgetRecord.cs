using Npgsql;
using NpgsqlTypes;
using PortalLinkWorker.Upflow;

namespace PortalLinkWorker.Persistence;

/// <summary>One row of <c>upflow_rate_budgets</c>: the shared <see cref="RateBudgetState"/> of one Upflow account, and
/// the one mapping of its columns (<see cref="PostgresRateBudgetStore"/>).</summary>
public sealed class RateBudgetRecord
{
    public const string Columns =
        "account, tokens, refilled_at, paused_until, rate, rate_changed_at, updated_at, admitted_slots, admitted_latest_slot, " +
        "throttled_at, throttled_pause, last_refused_at";

    /// <summary>Creates the row unless another replica just did (then no row is affected).</summary>
    public const string Insert = $"""
        INSERT INTO upflow_rate_budgets ({Columns})
        VALUES (@account, @tokens, @refilled_at, @paused_until, @rate, @rate_changed_at, @updated_at, @admitted_slots,
                @admitted_latest_slot, @throttled_at, @throttled_pause, @last_refused_at)
        ON CONFLICT (account) DO NOTHING
        """;

    public const string Update = """
        UPDATE upflow_rate_budgets SET tokens = @tokens, refilled_at = @refilled_at, paused_until = @paused_until, rate = @rate,
            rate_changed_at = @rate_changed_at, updated_at = @updated_at, admitted_slots = @admitted_slots,
            admitted_latest_slot = @admitted_latest_slot, throttled_at = @throttled_at, throttled_pause = @throttled_pause,
            last_refused_at = @last_refused_at
        WHERE account = @account
        """;

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

    /// <summary>When the call refused in the last settled episode was sent; null before any.</summary>
    public DateTimeOffset? LastRefusedAt { get; set; }

    public RateBudgetState ToState() => new(Tokens, RefilledAt, PausedUntil, Rate, RateChangedAt,
        AdmittedSlots.Length == AdmissionLog.SlotCount ? new AdmissionLog(AdmittedSlots, AdmittedLatestSlot) : AdmissionLog.Empty,
        ThrottledAt, ThrottledPause, LastRefusedAt);

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
        LastRefusedAt = state.LastRefusedAt;
        UpdatedAt = now;
    }

    public static RateBudgetRecord Read(NpgsqlDataReader reader) => new()
    {
        Account = reader.Get<string>("account"),
        Tokens = reader.Get<double>("tokens"),
        RefilledAt = reader.Get<DateTimeOffset>("refilled_at"),
        PausedUntil = reader.Get<DateTimeOffset>("paused_until"),
        Rate = reader.Get<double>("rate"),
        RateChangedAt = reader.Get<DateTimeOffset>("rate_changed_at"),
        UpdatedAt = reader.Get<DateTimeOffset>("updated_at"),
        AdmittedSlots = reader.Get<int[]>("admitted_slots"),
        AdmittedLatestSlot = reader.Get<long>("admitted_latest_slot"),
        ThrottledAt = reader.GetOrNullValue<DateTimeOffset>("throttled_at"),
        ThrottledPause = reader.Get<TimeSpan>("throttled_pause"),
        LastRefusedAt = reader.GetOrNullValue<DateTimeOffset>("last_refused_at"),
    };

    public void AddParameters(NpgsqlParameterCollection parameters)
    {
        parameters.Add(new NpgsqlParameter<string>("account", Account));
        parameters.Add(new NpgsqlParameter<double>("tokens", Tokens));
        parameters.Add(new NpgsqlParameter<DateTimeOffset>("refilled_at", RefilledAt));
        parameters.Add(new NpgsqlParameter<DateTimeOffset>("paused_until", PausedUntil));
        parameters.Add(new NpgsqlParameter<double>("rate", Rate));
        parameters.Add(new NpgsqlParameter<DateTimeOffset>("rate_changed_at", RateChangedAt));
        parameters.Add(new NpgsqlParameter<DateTimeOffset>("updated_at", UpdatedAt));
        parameters.Add(new NpgsqlParameter<int[]>("admitted_slots", AdmittedSlots));
        parameters.Add(new NpgsqlParameter<long>("admitted_latest_slot", AdmittedLatestSlot));
        parameters.Add(Sql.Nullable("throttled_at", ThrottledAt, NpgsqlDbType.TimestampTz));
        parameters.Add(new NpgsqlParameter<TimeSpan>("throttled_pause", ThrottledPause));
        parameters.Add(Sql.Nullable("last_refused_at", LastRefusedAt, NpgsqlDbType.TimestampTz));
    }
}
