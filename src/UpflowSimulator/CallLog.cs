namespace UpflowSimulator;

/// <summary>Recent portal calls (at most <see cref="Capacity"/>, oldest dropped) and counts by status since the last reset.</summary>
internal sealed class CallLog
{
    public const int Capacity = 100_000;

    private readonly Lock gate = new();
    private readonly Queue<CallRecord> records = new();
    private readonly SortedDictionary<int, long> byStatus = [];
    private long total;

    public void Add(CallRecord record)
    {
        lock (gate)
        {
            if (records.Count == Capacity)
            {
                records.Dequeue();
            }

            records.Enqueue(record);
            total++;
            byStatus[record.Status] = byStatus.GetValueOrDefault(record.Status) + 1;
        }
    }

    public CallRecord[] Snapshot(string? customerId)
    {
        lock (gate)
        {
            return customerId is null
                ? [.. records]
                : [.. records.Where(r => string.Equals(r.CustomerId, customerId, StringComparison.Ordinal))];
        }
    }

    public (long Total, SortedDictionary<int, long> ByStatus) Stats()
    {
        lock (gate)
        {
            return (total, new SortedDictionary<int, long>(byStatus));
        }
    }

    public void Clear()
    {
        lock (gate)
        {
            records.Clear();
            byStatus.Clear();
            total = 0;
        }
    }
}
