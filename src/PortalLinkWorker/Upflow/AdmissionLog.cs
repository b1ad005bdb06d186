namespace PortalLinkWorker.Upflow;

/// <summary>
/// How many calls Upflow admitted (answered with anything but 429), counted by when they were sent, in
/// <see cref="SlotLength"/> slots over the last <see cref="Span"/>. Shared by every replica in the budget row, so a 429
/// is read against what the whole fleet got through. Immutable: every change returns a new log.
/// </summary>
public sealed record AdmissionLog(int[] Slots, long LatestSlot)
{
    /// <summary>A quarter of a second: fine enough to read "the last second" of a per-second limiter.</summary>
    public static readonly TimeSpan SlotLength = TimeSpan.FromMilliseconds(250);

    /// <summary>A minute: the longest window Upflow documents (600 calls a minute).</summary>
    public static readonly TimeSpan Span = TimeSpan.FromMinutes(1);

    public const int SlotCount = 240;

    /// <summary>A gap this long without an admitted call ends a busy run: what came before it says nothing of the
    /// limiter's window now.</summary>
    public static readonly TimeSpan IdleGap = TimeSpan.FromSeconds(2);

    public static AdmissionLog Empty { get; } = new(new int[SlotCount], 0);

    public static long SlotOf(DateTimeOffset at) => at.ToUnixTimeMilliseconds() / (long)SlotLength.TotalMilliseconds;

    /// <summary>When <paramref name="slot"/> begins.</summary>
    public static DateTimeOffset SlotStart(long slot) => DateTimeOffset.FromUnixTimeMilliseconds(slot * (long)SlotLength.TotalMilliseconds);

    /// <summary>Adds calls sent at the given times; calls older than <see cref="Span"/> are left out.</summary>
    public AdmissionLog Add(IReadOnlyCollection<DateTimeOffset> sentAt, DateTimeOffset now)
    {
        if (sentAt.Count == 0)
            return this;
        var nowSlot = SlotOf(now);
        var slots = Shifted(nowSlot);
        foreach (var at in sentAt)
        {
            var slot = Math.Min(SlotOf(at), nowSlot);
            if (slot > nowSlot - SlotCount)
                slots[Index(slot)]++;
        }
        return new AdmissionLog(slots, nowSlot);
    }

    /// <summary>Calls admitted that were sent within <paramref name="window"/> before <paramref name="now"/>; the slot the
    /// window starts in counts for the part of it inside the window.</summary>
    public double Count(DateTimeOffset now, TimeSpan window)
    {
        var nowSlot = SlotOf(now);
        var start = now - window;
        var startSlot = SlotOf(start);
        double total = SumSlots(startSlot + 1, nowSlot, nowSlot);
        if (startSlot >= OldestSlot(nowSlot) && startSlot <= Math.Min(nowSlot, LatestSlot))
        {
            var slotEnd = SlotStart(startSlot + 1);
            total += Slots[Index(startSlot)] * Math.Clamp((slotEnd - start) / SlotLength, 0, 1);
        }
        return total;
    }

    /// <summary>Calls admitted that were sent in the slots from <paramref name="from"/>'s up to, not including,
    /// <paramref name="to"/>'s: on slot boundaries (whole seconds), exactly those sent between the two.</summary>
    public int CountSlots(DateTimeOffset from, DateTimeOffset to) => SumSlots(SlotOf(from), SlotOf(to) - 1, SlotOf(to));

    /// <summary>The calls of the slots <paramref name="first"/> to <paramref name="last"/> that are within the span at
    /// <paramref name="nowSlot"/> and not ahead of the log.</summary>
    private int SumSlots(long first, long last, long nowSlot)
    {
        var total = 0;
        for (var slot = Math.Max(first, OldestSlot(nowSlot)); slot <= Math.Min(last, Math.Min(nowSlot, LatestSlot)); slot++)
            total += Slots[Index(slot)];
        return total;
    }

    /// <summary>The oldest slot still within the span at <paramref name="nowSlot"/>.</summary>
    private long OldestSlot(long nowSlot) => Math.Max(LatestSlot, nowSlot) - SlotCount + 1;

    /// <summary>When the current busy run began: the earliest slot with admitted calls reached from the latest one
    /// without crossing <see cref="IdleGap"/>; null when nothing was admitted within the span.</summary>
    public DateTimeOffset? BusySince(DateTimeOffset now)
    {
        var nowSlot = SlotOf(now);
        var oldest = OldestSlot(nowSlot);
        var gapSlots = (long)(IdleGap / SlotLength);
        long? start = null;
        var empty = 0L;
        for (var slot = Math.Min(nowSlot, LatestSlot); slot >= oldest; slot--)
        {
            if (Slots[Index(slot)] > 0)
            {
                start = slot;
                empty = 0;
            }
            else if (start is not null && ++empty >= gapSlots)
                break;
        }
        // The middle of the slot: its calls were sent anywhere in it.
        return start is { } s ? SlotStart(s) + (SlotLength / 2) : null;
    }

    private int[] Shifted(long nowSlot)
    {
        var slots = (int[])Slots.Clone();
        if (nowSlot <= LatestSlot)
            return slots;
        if (nowSlot - LatestSlot >= SlotCount)
            return new int[SlotCount];
        for (var slot = LatestSlot + 1; slot <= nowSlot; slot++)
            slots[Index(slot)] = 0;
        return slots;
    }

    private static int Index(long slot) => (int)(((slot % SlotCount) + SlotCount) % SlotCount);

    public bool Equals(AdmissionLog? other) =>
        other is not null && LatestSlot == other.LatestSlot && Slots.AsSpan().SequenceEqual(other.Slots);

    public override int GetHashCode() => HashCode.Combine(LatestSlot, Slots.Length);
}
