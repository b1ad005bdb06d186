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
        // A GET of the base URL: no link asked for, so the key pair is not claimed to be proven.
        Assert.Contains("answers (HTTP 404 to a GET); the API key pair is proven only by a real call", output);
        Assert.Contains("Upflow:ApiSecret = ****", output);
        Assert.DoesNotContain(WorkerFixture.ApiSecret, output);
    }

    [Fact]
    public async Task CheckConfig_UpflowCall_KeyRefusedByUpflow_SaysSo_Exit1()
    {
        var settings = new Dictionary<string, string>(fixture.Worker.Settings) { ["Upflow:ApiSecret"] = "wrong-secret-5521" };

        var (exitCode, output) = await WorkerProcess.RunCommandAsync(settings, "check-config",
            "--upflow-call", "external:check-refused-1", "--against", "configured");

        Assert.True(exitCode == 1, output);
        Assert.Contains("status: 401", output);
        Assert.Contains("✗ Upflow refused the API key pair (401/403)", output);
        Assert.DoesNotContain("wrong-secret-5521", output);
    }

    [Fact]
    public async Task CheckConfig_UpflowCall_OneRealCall_FieldsMaskedUrlExpiry_Exit0()
    {
        var customerId = $"external:check-call-{Guid.NewGuid():N}";

        var (exitCode, output) = await WorkerProcess.RunCommandAsync(fixture.Worker.Settings, "check-config",
            "--upflow-call", customerId, "--against", "configured");

        Assert.True(exitCode == 0, output);
        Assert.Contains("received: a JSON object with fields url (string)", output);
        Assert.Contains("✓ portal URL (Upflow:UrlField 'url'): https://", output);
        Assert.Contains("(computed: call time + expiresIn)", output);
        // The URL's path is its token: only the scheme and host are shown.
        Assert.DoesNotMatch(@"https://[^/\s]+/[^…]", output);
        Assert.Single(await fixture.Simulator.CallsAsync(customerId));
    }

    [Fact]
    public async Task CheckConfig_UpflowCall_WithNoConnect_UsageError()
    {
        var (exitCode, output) = await WorkerProcess.RunCommandAsync(fixture.Worker.Settings, "check-config", "--no-connect",
            "--upflow-call", "external:check-call-2");

        Assert.True(exitCode == 64, output);
        Assert.Contains("cannot go with --no-connect", output);
    }

    [Fact]
    public async Task CheckConfig_BadCampaignSetting_NamedNotShown_Exit2()
    {
        var settings = new Dictionary<string, string>(fixture.Worker.Settings) { ["Campaigns:CompletionSweepInterval"] = "later-7731" };

        var (exitCode, output) = await WorkerProcess.RunCommandAsync(settings, "check-config", "--no-connect");

        Assert.True(exitCode == 2, output);
        Assert.Contains("✗ Campaigns:CompletionSweepInterval is not a valid duration", output);
        Assert.DoesNotContain("later-7731", output);
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
