using System.Diagnostics.Metrics;
using System.Net;
using Polly.Timeout;
using PortalLinkWorker.Telemetry;

namespace PortalLinkWorker.Upflow;

/// <summary>What Upflow's answers look like from this process: each attempt's duration and status
/// (<c>portallink.upflow.call.duration</c>), the 429s (<c>portallink.upflow.throttled</c>), and whether calls are paused
/// and why (<c>portallink.upflow.paused</c>). The rate budget's own instruments live in <see cref="RateBudget"/>.</summary>
public sealed class UpflowMetrics
{
    private readonly Histogram<double> _duration;
    private readonly Counter<long> _throttled;

    public UpflowMetrics(IMeterFactory meters, UpflowPace pace)
    {
        var meter = meters.Create(WorkerMeter.Name);
        _duration = meter.CreateHistogram<double>("portallink.upflow.call.duration", "s",
            "One HTTP attempt to Upflow (rate-budget wait excluded), by status: the HTTP status code, or timeout / connection_error",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] });
        _throttled = meter.CreateCounter<long>("portallink.upflow.throttled", "{response}", "429 answers from Upflow");
        meter.CreateObservableGauge("portallink.upflow.paused", () => PausedMeasurements(pace.State.Phase), "{pause}",
            "1 while Upflow calls of this process are paused, by reason: rate_limit (a 429's reset), outage, credentials, answer_unreadable");
    }

    public void RecordAttempt(TimeSpan elapsed, HttpStatusCode? status, Exception? error)
    {
        var label = status is { } code ? ((int)code).ToString(System.Globalization.CultureInfo.InvariantCulture)
            : error is TimeoutRejectedException or OperationCanceledException ? "timeout" : "connection_error";
        _duration.Record(elapsed.TotalSeconds, new KeyValuePair<string, object?>("status", label));
        if (status == HttpStatusCode.TooManyRequests)
            _throttled.Add(1);
    }

    private static IEnumerable<Measurement<int>> PausedMeasurements(UpflowPhase phase)
    {
        yield return new Measurement<int>(phase == UpflowPhase.RateLimited ? 1 : 0, new KeyValuePair<string, object?>("reason", "rate_limit"));
        yield return new Measurement<int>(phase == UpflowPhase.Outage ? 1 : 0, new KeyValuePair<string, object?>("reason", "outage"));
        yield return new Measurement<int>(phase == UpflowPhase.CredentialsRefused ? 1 : 0, new KeyValuePair<string, object?>("reason", "credentials"));
        yield return new Measurement<int>(phase == UpflowPhase.AnswerUnreadable ? 1 : 0, new KeyValuePair<string, object?>("reason", "answer_unreadable"));
    }
}
