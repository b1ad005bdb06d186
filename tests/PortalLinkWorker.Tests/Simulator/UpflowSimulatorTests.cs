using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using UpflowSimulator;
using Xunit;

namespace PortalLinkWorker.Tests.Simulator;

/// <summary>Starts the Upflow simulator in-process on a free loopback port and calls it over real HTTP.</summary>
[Trait("Category", "Unit")]
public sealed class UpflowSimulatorTests
{
    private const string PortalUrlPrefix = "https://portal.upflow-simulator.invalid/p/";

    [Fact]
    public async Task Home_page_says_it_is_a_simulator()
    {
        await using var simulator = await SimulatorHost.StartAsync();

        using var response = await simulator.Client.GetAsync("");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("true", Assert.Single(response.Headers.GetValues("X-Upflow-Simulator")));
        var text = await response.Content.ReadAsStringAsync();
        Assert.Contains("SIMULATOR", text, StringComparison.Ordinal);
        Assert.Contains("not Upflow", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Success_returns_a_url_with_a_new_token_on_every_call()
    {
        await using var simulator = await SimulatorHost.StartAsync();

        using var first = await simulator.PostPortalAsync("external:acme-1", """{"expiresIn": 3600, "frameAncestors": "app.example.com"}""");
        using var second = await simulator.PostPortalAsync("external:acme-1");

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        var firstUrl = await ReadPropertyAsync(first, "url");
        var secondUrl = await ReadPropertyAsync(second, "url");
        Assert.StartsWith(PortalUrlPrefix, firstUrl, StringComparison.Ordinal);
        Assert.StartsWith(PortalUrlPrefix, secondUrl, StringComparison.Ordinal);

        // 32 random bytes in unpadded base64url are 43 characters.
        Assert.Equal(43, firstUrl[PortalUrlPrefix.Length..].Length);
        Assert.NotEqual(firstUrl, secondUrl);
    }

    [Fact]
    public async Task Wrong_secret_is_401()
    {
        await using var simulator = await SimulatorHost.StartAsync();

        using var response = await simulator.PostPortalAsync("external:acme-1", apiSecret: "not-the-secret");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.False(string.IsNullOrEmpty(await ReadPropertyAsync(response, "message")));
    }

    [Fact]
    public async Task Unknown_customer_is_404()
    {
        await using var simulator = await SimulatorHost.StartAsync();

        using var response = await simulator.PostPortalAsync("external:unknown-1");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("Customer not found", await ReadPropertyAsync(response, "message"));
    }

    [Fact]
    public async Task Percent_encoded_external_id_is_recorded_decoded_exactly()
    {
        await using var simulator = await SimulatorHost.StartAsync();

        using var response = await simulator.PostPortalAsync("external:ACME%2F42%20%231");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var calls = await simulator.GetJsonAsync("_simulator/calls");
        var call = Assert.Single(calls.RootElement.EnumerateArray());
        Assert.Equal("external:ACME/42 #1", call.GetProperty("customerId").GetString());
        Assert.Equal(200, call.GetProperty("status").GetInt32());
        Assert.False(call.GetProperty("bodyHadFrameAncestors").GetBoolean());

        using var filtered = await simulator.GetJsonAsync("_simulator/calls?customerId=" + Uri.EscapeDataString("external:ACME/42 #1"));
        Assert.Single(filtered.RootElement.EnumerateArray());
    }

    [Fact]
    public async Task ExpiresIn_zero_is_422()
    {
        await using var simulator = await SimulatorHost.StartAsync();

        using var response = await simulator.PostPortalAsync("external:acme-1", """{"expiresIn": 0}""");

        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        Assert.Contains("expiresIn", await ReadPropertyAsync(response, "message"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Burst_over_the_rate_limit_gets_429_with_Retry_After()
    {
        await using var simulator = await SimulatorHost.StartAsync("--Simulator:RateLimitPerSecond=2");

        var responses = await Task.WhenAll(Enumerable.Range(0, 10).Select(_ => simulator.PostPortalAsync("external:acme-1")));
        try
        {
            Assert.Contains(responses, r => r.StatusCode == HttpStatusCode.OK);
            var limited = responses.Where(r => r.StatusCode == HttpStatusCode.TooManyRequests).ToList();
            Assert.NotEmpty(limited);
            Assert.All(limited, r => Assert.True(r.Headers.RetryAfter?.Delta >= TimeSpan.FromSeconds(1)));

            using var stats = await simulator.GetJsonAsync("_simulator/stats");
            Assert.Equal(10, stats.RootElement.GetProperty("total").GetInt32());
            Assert.Equal(limited.Count, stats.RootElement.GetProperty("byStatus").GetProperty("429").GetInt32());
        }
        finally
        {
            foreach (var response in responses)
            {
                response.Dispose();
            }
        }
    }

    [Fact]
    public async Task Sim_fail_2_fails_twice_then_succeeds()
    {
        await using var simulator = await SimulatorHost.StartAsync();

        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 3; i++)
        {
            using var response = await simulator.PostPortalAsync("external:sim-fail-2-order-7");
            statuses.Add(response.StatusCode);
        }

        Assert.Equal(new[] { HttpStatusCode.ServiceUnavailable, HttpStatusCode.ServiceUnavailable, HttpStatusCode.OK }, statuses);
    }

    [Fact]
    public async Task Config_put_changes_behaviour()
    {
        await using var simulator = await SimulatorHost.StartAsync();

        using (var config = await simulator.PutConfigAsync("""{"errorRate": 1}"""))
        {
            Assert.Equal(HttpStatusCode.OK, config.StatusCode);
            using var view = JsonDocument.Parse(await config.Content.ReadAsStringAsync());
            Assert.Equal(1.0, view.RootElement.GetProperty("errorRate").GetDouble());
            Assert.Equal("***", view.RootElement.GetProperty("apiSecret").GetString());
        }

        using (var failing = await simulator.PostPortalAsync("external:acme-1"))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, failing.StatusCode);
        }

        using (var config = await simulator.PutConfigAsync("""{"errorRate": 0, "omitUrl": true}"""))
        {
            Assert.Equal(HttpStatusCode.OK, config.StatusCode);
        }

        using var withoutUrl = await simulator.PostPortalAsync("external:acme-1");
        Assert.Equal(HttpStatusCode.OK, withoutUrl.StatusCode);
        using var body = JsonDocument.Parse(await withoutUrl.Content.ReadAsStringAsync());
        Assert.False(body.RootElement.TryGetProperty("url", out _));
        Assert.StartsWith(PortalUrlPrefix, body.RootElement.GetProperty("link").GetString(), StringComparison.Ordinal);
    }

    private static async Task<string> ReadPropertyAsync(HttpResponseMessage response, string name)
    {
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return document.RootElement.GetProperty(name).GetString()!;
    }

    private sealed class SimulatorHost : IAsyncDisposable
    {
        private readonly WebApplication app;

        private SimulatorHost(WebApplication app, HttpClient client)
        {
            this.app = app;
            Client = client;
        }

        public HttpClient Client { get; }

        /// <summary>Starts a simulator with default options, overridden by <paramref name="settings"/> command-line arguments.</summary>
        public static async Task<SimulatorHost> StartAsync(params string[] settings)
        {
            string[] args = ["--urls", "http://127.0.0.1:0", "--Logging:LogLevel:Default=Warning", .. settings];
            var app = UpflowSimulatorApp.Build(args);
            await app.StartAsync();
            var client = new HttpClient { BaseAddress = new Uri(app.Urls.Single().TrimEnd('/') + "/") };
            return new SimulatorHost(app, client);
        }

        /// <summary>Posts to the portal endpoint; <paramref name="encodedCustomerId"/> goes into the path as given.</summary>
        public async Task<HttpResponseMessage> PostPortalAsync(string encodedCustomerId, string? json = null, string apiSecret = "sim-secret")
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, $"v1/customers/{encodedCustomerId}/portal");
            request.Headers.Add("X-Api-Key", "sim-key");
            request.Headers.Add("X-Api-Secret", apiSecret);
            if (json is not null)
            {
                request.Content = new StringContent(json, Encoding.UTF8, "application/json");
            }

            return await Client.SendAsync(request);
        }

        public Task<HttpResponseMessage> PutConfigAsync(string json) =>
            Client.PutAsync("_simulator/config", new StringContent(json, Encoding.UTF8, "application/json"));

        public async Task<JsonDocument> GetJsonAsync(string relativeUrl) =>
            JsonDocument.Parse(await Client.GetStringAsync(relativeUrl));

        public async ValueTask DisposeAsync()
        {
            Client.Dispose();
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }
}
