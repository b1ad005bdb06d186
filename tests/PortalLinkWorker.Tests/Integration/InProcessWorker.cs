using Microsoft.AspNetCore.Builder;
using PortalLinkWorker.Hosting;
using PortalLinkWorker.TestKit;

namespace PortalLinkWorker.Tests.Integration;

/// <summary>The fixture's worker: in this process, wired exactly as in production (web endpoints included), with the
/// tests' settings; stopped and started again by the tests that run their own worker processes.</summary>
public sealed class InProcessWorker(IReadOnlyDictionary<string, string> settings) : IAsyncDisposable
{
    private WebApplication? _worker;

    /// <summary>The worker's settings, for a worker started as a child process (<see cref="WorkerProcess"/>) too.</summary>
    public IReadOnlyDictionary<string, string> Settings => settings;

    /// <summary>Settings for a command run in this process (<c>campaign …</c>): the worker's own, as arguments.</summary>
    public string[] CommandSettings => settings.AsArguments();

    /// <summary>The worker's HTTP endpoint (health, metrics, status page), once started.</summary>
    public Uri Url => new(_worker?.Urls.FirstOrDefault() ?? throw new InvalidOperationException("The worker is not running."));

    /// <summary>A worker wired as in production (web endpoints included) with these settings; not started.</summary>
    public static WebApplication Build(IReadOnlyDictionary<string, string> settings) =>
        PortalLinkWorkerHost.BuildWorker([], builder =>
            builder.Configuration.AddInMemoryCollection(settings.Select(s => KeyValuePair.Create(s.Key, (string?)s.Value))));

    /// <summary>Builds the worker now (not started), so that it is ready before the observer starts.</summary>
    public void Prepare() => _worker ??= Build(settings);

    /// <summary>Starts the worker (again), with <paramref name="overrides"/> on top of <see cref="Settings"/>.</summary>
    public async Task StartAsync(IReadOnlyDictionary<string, string>? overrides = null)
    {
        _worker ??= Build(settings.With(overrides));
        await _worker.StartAsync();
    }

    /// <summary>Stops the worker, for tests that run their own worker processes.</summary>
    public async Task StopAsync()
    {
        await _worker!.StopAsync();
        await _worker.DisposeAsync();
        _worker = null;
    }

    public async ValueTask DisposeAsync()
    {
        if (_worker is not null)
            await StopAsync();
    }
}
