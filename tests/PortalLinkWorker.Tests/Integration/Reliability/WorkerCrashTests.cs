using PortalLinkContracts;
using Xunit.Abstractions;

namespace PortalLinkWorker.Tests.Integration.Reliability;

/// <summary>The worker as a real process, killed with SIGKILL mid-run and restarted: nothing may be lost.</summary>
[Collection(WorkerCollection.Name)]
[Trait("Category", "Integration")]
public sealed class WorkerCrashTests(WorkerFixture fixture, ITestOutputHelper output) : IAsyncLifetime
{
    private const int Requests = 300;
    private const int Kills = 2;

    /// <summary>Each kill may lose the outcome of the calls in flight (the crash window between the Upflow call and
    /// the commit, docs/design.md); at most the consumer's concurrency (16 by default) are in flight.</summary>
    private const int MaxInFlight = 16;

    public Task InitializeAsync() => fixture.Worker.StopAsync();

    public Task DisposeAsync() => fixture.Worker.StartAsync();

    [Fact]
    public async Task KillNineMidRun_EveryRequestCompletesOnce()
    {
        await fixture.Simulator.ConfigureAsync(new { latencyMs = 30 });
        // The most verbose level, so that the assertions on secrets below cover every log line there is.
        var worker = WorkerProcess.Start(fixture.Worker.Settings, "Verbose");
        var logs = new List<string>();
        try
        {
            var requests = Enumerable.Range(0, Requests)
                .Select(i => new GeneratePortalLink(Guid.NewGuid(), $"external:crash-{i}-{Guid.NewGuid():N}"))
                .ToList();
            await Task.WhenAll(requests.Select(r => fixture.Observer.Bus.Publish(r)));

            for (var kill = 1; kill <= Kills; kill++)
            {
                var threshold = Requests * kill / (Kills + 1);
                await Eventually.TrueAsync(() => requests.Count(r => fixture.Observer.OutcomesOf(r.RequestId).Count > 0) >= threshold);
                await worker.KillAsync();
                logs.Add(worker.Output);
                await worker.DisposeAsync();
                worker = WorkerProcess.Start(fixture.Worker.Settings, "Verbose");
            }

            foreach (var request in requests)
                await fixture.Observer.WaitForOutcomesAsync(request.RequestId);

            var calls = (await fixture.Simulator.CallsAsync()).Where(c => c.CustomerId.StartsWith("external:crash-")).ToList();
            foreach (var request in requests)
            {
                var row = await fixture.Database.RowAsync(request.RequestId);
                Assert.Equal("generated", row?.Status);
                var outcome = Assert.IsType<PortalLinkGenerated>(fixture.Observer.OutcomesOf(request.RequestId)[0]);
                Assert.Equal(row!.Url, outcome.Url);
                Assert.Contains(calls, c => c.CustomerId == request.CustomerId);
            }
            output.WriteLine($"{Requests} requests, {Kills} kills: {calls.Count} Upflow calls ({calls.Count - Requests} extra)");
            Assert.InRange(calls.Count, Requests, Requests + Kills * MaxInFlight);
            Assert.DoesNotContain(fixture.Observer.Faults, f => requests.Any(r => r.RequestId == f.Message.RequestId));
        }
        finally
        {
            logs.Add(worker.Output);
            await worker.DisposeAsync();
            await fixture.Simulator.ConfigureAsync(new { latencyMs = 0 });
        }

        var allLogs = string.Join('\n', logs);
        output.WriteLine($"{allLogs.Split('\n').Length} log lines checked for the secret and for portal URLs");
        Assert.DoesNotContain(WorkerFixture.ApiSecret, allLogs);
        Assert.DoesNotContain("portal.upflow-simulator.invalid/p/", allLogs);
    }
}
