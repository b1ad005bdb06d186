using System.Diagnostics.Metrics;
using PortalLinkWorker.Telemetry;

namespace PortalLinkWorker.Links;

/// <summary>
/// Counts the outcomes this process decides: the counters <c>portallink.links.generated</c> and
/// <c>portallink.links.failed</c> (by <c>reason</c>), and, for the status page, per-second counts over the last hour and
/// the most recent failures. A re-published stored outcome (a redelivery) is not counted again. Never holds a portal URL.
/// </summary>
public sealed class LinkOutcomes
{
    /// <summary>Failures kept for the status page.</summary>
    public const int RecentFailureCount = 25;

    private static readonly TimeSpan Window = TimeSpan.FromHours(1);
    private const int Slots = 3600;

    private readonly TimeProvider _time;
    private readonly Counter<long> _generated;
    private readonly Counter<long> _failed;
    private readonly Lock _gate = new();
    private readonly long[] _slotSecond = new long[Slots];
    private readonly long[] _generatedIn = new long[Slots];
    private readonly long[] _failedIn = new long[Slots];
    private readonly LinkedList<RecentFailure> _recent = new();
    private readonly Dictionary<string, long> _failedByReason = new(StringComparer.Ordinal);
    private long _generatedTotal;
    private long _failedTotal;

    public LinkOutcomes(TimeProvider time, IMeterFactory meters)
    {
        _time = time;
        var meter = meters.Create(WorkerMeter.Name);
        _generated = meter.CreateCounter<long>("portallink.links.generated", "{link}", "Portal links generated (and saved) by this process");
        _failed = meter.CreateCounter<long>("portallink.links.failed", "{link}",
            "Requests that ended PortalLinkFailed in this process, by reason (InvalidRequest, CustomerNotFound, Rejected, UpflowUnavailable)");
    }

    /// <summary>One failure as the status page shows it: no URL, no message text from Upflow.</summary>
    public sealed record RecentFailure(DateTimeOffset At, Guid RequestId, string CustomerId, string Reason, Guid? CampaignId);

    /// <summary>Counts since the process started and over the last minute and hour.</summary>
    public sealed record Totals(long Generated, long Failed, long GeneratedLastMinute, long GeneratedLastHour,
        long FailedLastMinute, long FailedLastHour, IReadOnlyDictionary<string, long> FailedByReason);

    public void Generated(Guid? campaignId)
    {
        _generated.Add(1, CampaignTag(campaignId));
        lock (_gate)
        {
            _generatedTotal++;
            _generatedIn[Slot(_time.GetUtcNow())]++;
        }
    }

    /// <summary>A request ended <c>PortalLinkFailed</c>. The customer id is as it may be shown: callers pass "(invalid)"
    /// for an id that failed validation.</summary>
    public void Failed(Guid requestId, string customerId, string reason, Guid? campaignId)
    {
        _failed.Add(1, new KeyValuePair<string, object?>("reason", reason), CampaignTag(campaignId));
        var now = _time.GetUtcNow();
        lock (_gate)
        {
            _failedTotal++;
            _failedIn[Slot(now)]++;
            _failedByReason[reason] = _failedByReason.GetValueOrDefault(reason) + 1;
            _recent.AddFirst(new RecentFailure(now, requestId, customerId, reason, campaignId));
            if (_recent.Count > RecentFailureCount)
                _recent.RemoveLast();
        }
    }

    public IReadOnlyList<RecentFailure> RecentFailures()
    {
        lock (_gate)
            return [.. _recent];
    }

    public Totals Count()
    {
        var nowSecond = _time.GetUtcNow().ToUnixTimeSeconds();
        long genMinute = 0, genHour = 0, failMinute = 0, failHour = 0;
        lock (_gate)
        {
            for (var i = 0; i < Slots; i++)
            {
                var age = nowSecond - _slotSecond[i];
                if (age < 0 || age >= (long)Window.TotalSeconds)
                    continue;
                genHour += _generatedIn[i];
                failHour += _failedIn[i];
                if (age < 60)
                {
                    genMinute += _generatedIn[i];
                    failMinute += _failedIn[i];
                }
            }
            return new Totals(_generatedTotal, _failedTotal, genMinute, genHour, failMinute, failHour,
                new Dictionary<string, long>(_failedByReason));
        }
    }

    /// <summary>Only whether a link belongs to a campaign: a campaign id per label would make one time series per campaign.</summary>
    private static KeyValuePair<string, object?> CampaignTag(Guid? campaignId) => new("campaign", campaignId is null ? "false" : "true");

    /// <summary>The slot of this second, emptied first when it last counted an older second. Call under the lock.</summary>
    private int Slot(DateTimeOffset at)
    {
        var second = at.ToUnixTimeSeconds();
        var slot = (int)(second % Slots);
        if (_slotSecond[slot] != second)
        {
            _slotSecond[slot] = second;
            _generatedIn[slot] = 0;
            _failedIn[slot] = 0;
        }
        return slot;
    }
}
