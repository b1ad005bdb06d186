using System.Net.Http.Json;
using System.Text.Json;
using UpflowSimulator;

namespace PortalLinkWorker.TestKit;

/// <summary>The Upflow simulator's admin endpoints (<c>Simulator:AdminEndpoints=true</c>): its recorded calls, its
/// counters, its options.</summary>
public sealed class SimulatorClient(string url) : IDisposable
{
    public string Url => url;

    /// <summary>The simulator over plain HTTP, for the calls this client does not name.</summary>
    public HttpClient Http { get; } = new() { BaseAddress = new Uri(url) };

    /// <summary>The portal calls recorded since the last reset, of one customer or of all.</summary>
    public async Task<IReadOnlyList<CallRecord>> CallsAsync(string? customerId = null) =>
        (await Http.GetFromJsonAsync<List<CallRecord>>(
            customerId is null ? "/_simulator/calls" : $"/_simulator/calls?customerId={Uri.EscapeDataString(customerId)}"))!;

    /// <summary>Merges <paramref name="changes"/> (an object of simulator options) into its current options.</summary>
    public async Task ConfigureAsync(object changes) =>
        (await Http.PutAsJsonAsync("/_simulator/config", changes)).EnsureSuccessStatusCode();

    /// <summary>Clears calls, counters, the in-flight peak and the rate-limit state.</summary>
    public async Task ResetAsync() => (await Http.PostAsync("/_simulator/reset", null)).EnsureSuccessStatusCode();

    /// <summary>Call counts by status, calls in flight and their peak.</summary>
    public async Task<JsonElement> StatsAsync() => await Http.GetFromJsonAsync<JsonElement>("/_simulator/stats");

    /// <summary>Waits until the simulator answers (a child process still starting), failing after
    /// <paramref name="patience"/> or as soon as <paramref name="gone"/> says the process has exited.</summary>
    public async Task WaitUntilUpAsync(TimeSpan patience, Func<bool> gone)
    {
        var deadline = DateTime.UtcNow + patience;
        while (true)
        {
            try
            {
                (await Http.GetAsync("/_simulator/stats")).EnsureSuccessStatusCode();
                return;
            }
            catch (HttpRequestException) when (DateTime.UtcNow < deadline && !gone())
            {
                await Task.Delay(200);
            }
        }
    }

    public void Dispose() => Http.Dispose();
}
