using System.Text.Json;
using PortalLinkContracts;

namespace PortalLinkWorker.Tests.Integration.Operations;

/// <summary>The built worker's operator commands and its JSON logs, run as an operator runs them (child processes
/// configured by environment variables).</summary>
[Collection(WorkerCollection.Name)]
[Trait("Category", "Integration")]
public sealed class OperationsCommandTests(WorkerFixture fixture)
{
    [Fact]
    public async Task CheckConfig_RealServices_AllReachable_SecretsMasked_Exit0()
    {
        var (exitCode, output) = await WorkerProcess.RunCommandAsync(fixture.Worker.Settings, "check-config");

        Assert.True(exitCode == 0, output);
        Assert.Contains("✓ RabbitMQ: connected", output);
        Assert.Contains("✓ PostgreSQL: connected", output);
        Assert.Contains("schema up to date", output);
        Assert.Contains("answers and accepts the API key pair", output);
        Assert.Contains("Upflow:ApiSecret = ****", output);
        Assert.DoesNotContain(WorkerFixture.ApiSecret, output);
    }

    [Fact]
    public async Task CheckConfig_KeyRefusedByUpflow_SaysSo_Exit1()
    {
        var settings = new Dictionary<string, string>(fixture.Worker.Settings) { ["Upflow:ApiSecret"] = "wrong-secret-5521" };

        var (exitCode, output) = await WorkerProcess.RunCommandAsync(settings, "check-config");

        Assert.True(exitCode == 1, output);
        Assert.Contains("✗ Upflow:", output);
        Assert.Contains("refused the API key pair", output);
        Assert.DoesNotContain("wrong-secret-5521", output);
    }

    [Fact]
    public async Task Healthcheck_Command_ReadyWorker_Exit0_NothingListening_Exit1()
    {
        var ready = new Uri(fixture.Worker.Url, "/health/ready").ToString();
        var (exitCode, output) = await WorkerProcess.RunCommandAsync(fixture.Worker.Settings, "healthcheck", "--url", ready);
        Assert.True(exitCode == 0, output);
        Assert.Contains("\"status\":\"Healthy\"", output);

        (exitCode, output) = await WorkerProcess.RunCommandAsync(fixture.Worker.Settings, "healthcheck", "--url", "http://127.0.0.1:1/health/ready");
        Assert.True(exitCode == 1, output);
    }

    [Fact]
    public async Task JsonLogs_OneObjectPerLine_RequestLinesCarryRequestAndCustomer()
    {
        var settings = new Dictionary<string, string>(fixture.Worker.Settings) { ["Logging:Format"] = "json" };
        await fixture.Worker.StopAsync();
        try
        {
            await using var worker = WorkerProcess.Start(settings);
            await Eventually.TrueAsync(() => worker.Output.Contains("Bus started", StringComparison.Ordinal) || worker.HasExited);
            var request = new GeneratePortalLink(Guid.NewGuid(), "external:json-logs", 600, CampaignId: Guid.NewGuid());
            await fixture.Observer.Bus.Publish(request);
            await fixture.Observer.OutcomeAsync<PortalLinkGenerated>(request.RequestId);
            await Eventually.TrueAsync(() => worker.Output.Contains(request.RequestId.ToString(), StringComparison.Ordinal));

            var lines = worker.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            var events = lines.Select(line => JsonDocument.Parse(line).RootElement).ToList();
            var generated = events.Single(e => e.GetProperty("@m").GetString()!.StartsWith("Portal link generated", StringComparison.Ordinal) &&
                                               e.TryGetProperty("RequestId", out var id) && id.GetString() == request.RequestId.ToString());
            Assert.Equal("external:json-logs", generated.GetProperty("CustomerId").GetString());
            Assert.Equal(request.CampaignId.ToString(), generated.GetProperty("CampaignId").GetString());
            Assert.DoesNotContain(WorkerFixture.ApiSecret, worker.Output);
            Assert.DoesNotContain("portal.upflow-simulator.invalid", worker.Output);
        }
        finally
        {
            await fixture.Worker.StartAsync();
        }
    }
}
