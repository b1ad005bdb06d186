using System.Net;
using System.Text.Json;
using Npgsql;
using PortalLinkContracts;

namespace PortalLinkWorker.Tests.Integration.Operations;

/// <summary>
/// <c>/health/ready</c> flips as RabbitMQ, PostgreSQL or Upflow's acceptance of the key pair break and mend, while
/// <c>/health/live</c> stays up. The shared servers are never touched: a worker of its own reaches RabbitMQ and
/// PostgreSQL through TCP forwarders the test cuts and restores, and the simulator is told to expect another key.
/// </summary>
[Collection(WorkerCollection.Name)]
[Trait("Category", "Integration")]
public sealed class HealthEndpointTests(WorkerFixture fixture)
{
    [Fact]
    public async Task Ready_FlipsWithRabbitMqPostgresAndCredentials_LiveStaysUp()
    {
        // The fixture's worker would compete for the request that trips the credentials pause.
        await fixture.Worker.StopAsync();
        try
        {
            var rabbitUri = new Uri(fixture.RabbitMq);
            var postgres = new NpgsqlConnectionStringBuilder(fixture.Database.ConnectionString);
            await using var rabbitProxy = new TcpForwarder(rabbitUri.Host, rabbitUri.Port > 0 ? rabbitUri.Port : 5672);
            await using var postgresProxy = new TcpForwarder(postgres.Host!, postgres.Port);
            var settings = new Dictionary<string, string>(fixture.Worker.Settings)
            {
                ["ConnectionStrings:RabbitMq"] = new UriBuilder(rabbitUri) { Host = "127.0.0.1", Port = rabbitProxy.Port }.Uri.ToString(),
                ["ConnectionStrings:Postgres"] = new NpgsqlConnectionStringBuilder(fixture.Database.ConnectionString) { Host = "127.0.0.1", Port = postgresProxy.Port }.ConnectionString,
            };
            await using var worker = InProcessWorker.Build(settings);
            await worker.StartAsync();
            using var http = new HttpClient { BaseAddress = new Uri(worker.Urls.First()) };

            var ready = await ExpectReadyAsync(http, HttpStatusCode.OK);
            Assert.Equal(["postgres", "rabbitmq", "upflow"], ready.Checks.Keys.Order());

            rabbitProxy.Cut();
            ready = await ExpectReadyAsync(http, HttpStatusCode.ServiceUnavailable);
            Assert.Equal("Unhealthy", ready.Checks["rabbitmq"].Status);
            await ExpectLiveAsync(http);
            rabbitProxy.Restore();
            await ExpectReadyAsync(http, HttpStatusCode.OK);

            postgresProxy.Cut();
            ready = await ExpectReadyAsync(http, HttpStatusCode.ServiceUnavailable);
            Assert.Equal("Unhealthy", ready.Checks["postgres"].Status);
            Assert.Contains("PostgreSQL does not answer", ready.Checks["postgres"].Description);
            await ExpectLiveAsync(http);
            postgresProxy.Restore();
            await ExpectReadyAsync(http, HttpStatusCode.OK);
            // The cut left dead connections in the (in-process) worker's pools; the first request to draw one would pause
            // on "PostgreSQL unavailable" for Database:OutagePause, which is the case above, not the one below.
            Npgsql.NpgsqlConnection.ClearAllPools();
            // The worker's statements run on its NpgsqlDataSource, whose pool ClearAllPools does not reach.
            worker.Services.GetRequiredService<NpgsqlDataSource>().Clear();

            await fixture.Simulator.ConfigureAsync(new { ApiKey = "rotated-key" });
            try
            {
                var request = new GeneratePortalLink(Guid.NewGuid(), "external:health-credentials", 600);
                await fixture.Observer.Bus.Publish(request);
                ready = await ExpectReadyAsync(http, HttpStatusCode.ServiceUnavailable);
                Assert.Equal("Unhealthy", ready.Checks["upflow"].Status);
                Assert.Contains("refused the API key pair", ready.Checks["upflow"].Description);
                Assert.DoesNotContain(WorkerFixture.ApiSecret, ready.Body);
                Assert.DoesNotContain(WorkerFixture.ApiKey, ready.Body);
                await ExpectLiveAsync(http);

                await fixture.Simulator.ConfigureAsync(new { ApiKey = WorkerFixture.ApiKey });
                await ExpectReadyAsync(http, HttpStatusCode.OK);
                await fixture.Observer.OutcomeAsync<PortalLinkGenerated>(request.RequestId);
            }
            finally
            {
                await fixture.Simulator.ConfigureAsync(new { ApiKey = WorkerFixture.ApiKey });
            }
            await worker.StopAsync();
        }
        finally
        {
            await fixture.Worker.StartAsync();
        }
    }

    private sealed record Health(HttpStatusCode Code, string Status, Dictionary<string, (string Status, string Description)> Checks, string Body);

    private static async Task<Health> ReadAsync(HttpClient http, string path)
    {
        using var response = await http.GetAsync(path);
        var body = await response.Content.ReadAsStringAsync();
        var root = JsonDocument.Parse(body).RootElement;
        var checks = root.GetProperty("checks").EnumerateArray().ToDictionary(
            c => c.GetProperty("name").GetString()!,
            c => (c.GetProperty("status").GetString()!, c.GetProperty("description").GetString() ?? ""));
        return new Health(response.StatusCode, root.GetProperty("status").GetString()!, checks, body);
    }

    /// <summary>Polls <c>/health/ready</c> until it answers <paramref name="code"/>; returns that answer.</summary>
    private static async Task<Health> ExpectReadyAsync(HttpClient http, HttpStatusCode code)
    {
        Health? last = null;
        try
        {
            await Eventually.TrueAsync(async () => (last = await ReadAsync(http, "/health/ready")).Code == code, TimeSpan.FromSeconds(90));
        }
        catch (TimeoutException)
        {
            Assert.Fail($"/health/ready never answered {(int)code}; last: {(int?)last?.Code} {last?.Body}");
        }
        return last!;
    }

    private static async Task ExpectLiveAsync(HttpClient http)
    {
        var live = await ReadAsync(http, "/health/live");
        Assert.Equal(HttpStatusCode.OK, live.Code);
        Assert.Equal("Healthy", live.Status);
    }
}
