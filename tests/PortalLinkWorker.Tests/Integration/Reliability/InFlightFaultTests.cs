using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using PortalLinkContracts;

namespace PortalLinkWorker.Tests.Integration.Reliability;

/// <summary>The broker connection or the database connection lost while Upflow is answering: the answer is saved, not
/// thrown away, so Upflow is asked once. (The database case failed before answers were kept across an outage; the broker
/// case guards MassTransit's behaviour, which does not cancel the message when its connection drops.) Only this test's own connections are broken (its RabbitMQ virtual host, its
/// database), not the shared servers.</summary>
[Collection(WorkerCollection.Name)]
[Trait("Category", "Fault")]
public sealed class InFlightFaultTests(WorkerFixture fixture) : IAsyncLifetime
{
    /// <summary>Long enough to break a connection while the call is out, within the fixture's 1-s attempt timeout.</summary>
    private const int UpflowLatencyMs = 700;

    public Task InitializeAsync() => fixture.Simulator.ConfigureAsync(new { latencyMs = UpflowLatencyMs });

    public Task DisposeAsync() => fixture.Simulator.ConfigureAsync(new { latencyMs = 0 });

    [Fact]
    public async Task BrokerConnectionDroppedDuringTheCall_AnswerSaved_UpflowCalledOnce()
    {
        var request = new GeneratePortalLink(Guid.NewGuid(), $"external:broker-drop-{Guid.NewGuid():N}");

        await fixture.Observer.Bus.Publish(request);
        await UntilCallInFlightAsync();
        await CloseBrokerConnectionsAsync();

        var generated = await fixture.Observer.OutcomeAsync<PortalLinkGenerated>(request.RequestId);
        Assert.Equal(generated.Url, (await fixture.Database.RowAsync(request.RequestId))!.Url);
        Assert.Single(await fixture.Simulator.CallsAsync(request.CustomerId));
    }

    [Fact]
    public async Task DatabaseConnectionsKilledDuringTheCall_AnswerSavedWhenBack_UpflowCalledOnce()
    {
        var request = new GeneratePortalLink(Guid.NewGuid(), $"external:db-drop-{Guid.NewGuid():N}");

        await fixture.Observer.Bus.Publish(request);
        await UntilCallInFlightAsync();
        // Ends the worker's transaction (and its row and customer locks) mid-call, as a database restart does.
        await fixture.Database.ExecuteAsync(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()");

        var generated = await fixture.Observer.OutcomeAsync<PortalLinkGenerated>(request.RequestId);
        Assert.Equal(generated.Url, (await fixture.Database.RowAsync(request.RequestId))!.Url);
        Assert.Single(await fixture.Simulator.CallsAsync(request.CustomerId));
    }

    private async Task UntilCallInFlightAsync() =>
        await Eventually.TrueAsync(async () =>
        {
            var stats = await fixture.Simulator.Http.GetFromJsonAsync<JsonElement>("/_simulator/stats");
            return stats.GetProperty("inFlight").GetInt32() > 0;
        });

    /// <summary>Closes every connection to the tests' virtual host, as a broker restart does to its clients.</summary>
    private async Task CloseBrokerConnectionsAsync()
    {
        var vhost = Uri.UnescapeDataString(new Uri(fixture.RabbitMq).AbsolutePath.TrimStart('/'));
        using var close = Process.Start(new ProcessStartInfo("rabbitmqctl",
            ["-q", "close_all_connections", "--vhost", vhost.Length == 0 ? "/" : vhost, "--limit", "1000", "test: connection dropped mid-call"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        await close.WaitForExitAsync();
        Assert.True(close.ExitCode == 0, $"rabbitmqctl close_all_connections failed: {await close.StandardError.ReadToEndAsync()}");
    }
}
