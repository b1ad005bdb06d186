using System.Diagnostics.Metrics;
using PortalLinkWorker.Hosting;

namespace RateLimitBench;

/// <summary>
/// Listens, in this process, to the worker's meter (<see cref="WorkerMeter.Name"/>): every measurement of the
/// <c>portallink.upflow.budget_wait</c> histogram, and on demand the <c>portallink.upflow.effective_rate</c> gauge of each
/// worker host (each host has its own meter instance, created through its own IMeterFactory).
/// </summary>
internal sealed class WorkerMetrics : IDisposable
{
    public const string BudgetWait = "portallink.upflow.budget_wait";
    public const string EffectiveRate = "portallink.upflow.effective_rate";

    private readonly MeterListener _listener = new();
    private readonly Lock _gate = new();
    private readonly List<double> _waits = [];
    private readonly List<Meter> _meters = [];
    private Dictionary<Meter, double>? _sampling;

    public WorkerMetrics()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name != WorkerMeter.Name || instrument.Name is not (BudgetWait or EffectiveRate))
                return;
            lock (_gate)
                if (!_meters.Contains(instrument.Meter))
                    _meters.Add(instrument.Meter);
            listener.EnableMeasurementEvents(instrument);
        };
        _listener.SetMeasurementEventCallback<double>((instrument, value, _, _) =>
        {
            lock (_gate)
            {
                if (instrument.Name == BudgetWait)
                    _waits.Add(value);
                else if (instrument.Name == EffectiveRate && _sampling is not null)
                    _sampling[instrument.Meter] = value;
            }
        });
        _listener.Start();
    }

    /// <summary>Every budget wait recorded so far, in seconds.</summary>
    public double[] Waits()
    {
        lock (_gate)
            return [.. _waits];
    }

    /// <summary>The effective rate of each worker host now, in the order the hosts' meters appeared.</summary>
    public double[] SampleRates()
    {
        lock (_gate)
            _sampling = [];
        _listener.RecordObservableInstruments();
        lock (_gate)
        {
            var seen = _sampling!;
            _sampling = null;
            return [.. _meters.Where(seen.ContainsKey).Select(m => seen[m])];
        }
    }

    public void Dispose() => _listener.Dispose();
}
