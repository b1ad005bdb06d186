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

    [Fact]
    public async Task Url_field_can_be_renamed_through_the_config_endpoint()
    {
        await using var simulator = await SimulatorHost.StartAsync();

        using (var config = await simulator.PutConfigAsync("""{"urlField": "portalLink"}"""))
        {
            Assert.Equal(HttpStatusCode.OK, config.StatusCode);
        }

        using var renamed = await simulator.PostPortalAsync("external:acme-1");
        using var body = JsonDocument.Parse(await renamed.Content.ReadAsStringAsync());
        Assert.False(body.RootElement.TryGetProperty("url", out _));
        Assert.StartsWith(PortalUrlPrefix, body.RootElement.GetProperty("portalLink").GetString(), StringComparison.Ordinal);

        using var refused = await simulator.PutConfigAsync("""{"urlField": ""}""");
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
    }

    [Fact]
    public async Task Admin_endpoints_are_off_by_default()
    {
        await using var simulator = await SimulatorHost.StartWithoutAdminAsync();

        using var stats = await simulator.Client.GetAsync("_simulator/stats");
        using var calls = await simulator.Client.GetAsync("_simulator/calls");
        using var reset = await simulator.Client.PostAsync("_simulator/reset", null);
        using var config = await simulator.PutConfigAsync("""{"errorRate": 1}""");
        using var portal = await simulator.PostPortalAsync("external:acme-1");

        Assert.Equal(HttpStatusCode.NotFound, stats.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, calls.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, reset.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, config.StatusCode);
        Assert.Equal(HttpStatusCode.OK, portal.StatusCode);
    }

    [Fact]
    public async Task Admin_endpoints_on_when_asked_and_the_switch_cannot_be_changed_at_run_time()
    {
        await using var simulator = await SimulatorHost.StartAsync();

        using var stats = await simulator.Client.GetAsync("_simulator/stats");
        using var config = await simulator.PutConfigAsync("""{"adminEndpoints": false}""");

        Assert.Equal(HttpStatusCode.OK, stats.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, config.StatusCode);
        Assert.Contains("adminEndpoints", await ReadPropertyAsync(config, "message"), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("SlidingWindow")]
    [InlineData("fixedWindowMinute")]
    public async Task Config_put_sets_the_rate_limit_shape_by_name(string shape)
    {
        await using var simulator = await SimulatorHost.StartAsync();

        using var config = await simulator.PutConfigAsync($$"""{"rateLimitShape": "{{shape}}", "retryAfterFormat": "HttpDate"}""");

        Assert.Equal(HttpStatusCode.OK, config.StatusCode);
        using var view = await simulator.GetJsonAsync("_simulator/config");
        Assert.Equal(shape, view.RootElement.GetProperty("rateLimitShape").GetString(), StringComparer.OrdinalIgnoreCase);
        Assert.Equal("HttpDate", view.RootElement.GetProperty("retryAfterFormat").GetString());
    }

    [Theory]
    [InlineData("""{"rateLimitShape": "LeakyBucket"}""")]
    [InlineData("""{"rateLimitShape": 42}""")]
    [InlineData("""{"retryAfterFormat": "Minutes"}""")]
    public async Task Config_put_unknown_shape_or_format_is_400(string json)
    {
        await using var simulator = await SimulatorHost.StartAsync();

        using var config = await simulator.PutConfigAsync(json);

        Assert.Equal(HttpStatusCode.BadRequest, config.StatusCode);
    }

    [Fact]
    public void Configured_shape_and_format_are_read_at_start()
    {
        Assert.Throws<InvalidOperationException>(() => UpflowSimulatorApp.Build(["--urls", "http://127.0.0.1:0", "--Simulator:RetryAfterFormat=Sometimes"]));
    }

    // A bucket of one token refilled every 1,000 s: the second call is refused, asked to wait just under 1,000 s.
    [Fact]
    public async Task Retry_after_seconds_are_whole_and_rounded_up()
    {
        await using var simulator = await SimulatorHost.StartAsync("--Simulator:RateLimitPerSecond=0.001", "--Simulator:RetryAfterFormat=Seconds");

        using var first = await simulator.PostPortalAsync("external:acme-1");
        using var second = await simulator.PostPortalAsync("external:acme-1");

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, second.StatusCode);
        Assert.Equal("1000", Assert.Single(second.Headers.GetValues("Retry-After")));
    }

    [Fact]
    public async Task Retry_after_http_date_is_now_plus_the_wait_rounded_up_to_the_second()
    {
        await using var simulator = await SimulatorHost.StartAsync("--Simulator:RateLimitPerSecond=0.001", "--Simulator:RetryAfterFormat=HttpDate");

        using var first = await simulator.PostPortalAsync("external:acme-1");
        var before = DateTimeOffset.UtcNow;
        using var second = await simulator.PostPortalAsync("external:acme-1");
        var after = DateTimeOffset.UtcNow;

        Assert.Equal(HttpStatusCode.TooManyRequests, second.StatusCode);
        var raw = Assert.Single(second.Headers.GetValues("Retry-After"));
        Assert.EndsWith(" GMT", raw, StringComparison.Ordinal);
        var date = DateTimeOffset.ParseExact(raw, "R", System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(date, second.Headers.RetryAfter?.Date);

        // The first call took its token at or before "before", so the wait ends at most 1,000 s after it, rounded up.
        Assert.InRange(date, TruncateToSecond(before) + TimeSpan.FromSeconds(999), TruncateToSecond(after) + TimeSpan.FromSeconds(1001));
    }

    [Fact]
    public async Task Retry_after_none_sends_no_header()
    {
        await using var simulator = await SimulatorHost.StartAsync("--Simulator:RateLimitPerSecond=0.001", "--Simulator:RetryAfterFormat=None");

        using var first = await simulator.PostPortalAsync("external:acme-1");
        using var second = await simulator.PostPortalAsync("external:acme-1");

        Assert.Equal(HttpStatusCode.TooManyRequests, second.StatusCode);
        Assert.False(second.Headers.Contains("Retry-After"));
    }

    [Theory]
    [InlineData("TokenBucket", "Seconds")]
    [InlineData("SlidingWindow", "HttpDate")]
    [InlineData("FixedWindowMinute", "None")]
    public async Task Call_over_the_in_flight_cap_is_429_under_any_shape_and_counted_in_the_peak(string shape, string format)
    {
        const int Cap = 10;
        await using var simulator = await SimulatorHost.StartAsync(
            $"--Simulator:MaxConcurrentRequests={Cap}", "--Simulator:RateLimitPerSecond=100", $"--Simulator:RateLimitShape={shape}",
            $"--Simulator:RetryAfterFormat={format}", "--Simulator:LatencyMs=600000");
        using var hold = new CancellationTokenSource();
        var held = Enumerable.Range(0, Cap).Select(i => simulator.PostPortalAsync($"external:held-{i}", cancellationToken: hold.Token)).ToList();
        await simulator.WaitForStatAsync("inFlight", Cap);

        // Calls already in flight keep their latency; the next one answers at once.
        using (var config = await simulator.PutConfigAsync("""{"latencyMs": 0}"""))
        {
            Assert.Equal(HttpStatusCode.OK, config.StatusCode);
        }

        using var eleventh = await simulator.PostPortalAsync("external:eleventh");
        using var stats = await simulator.GetJsonAsync("_simulator/stats");
        await hold.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Task.WhenAll(held));
        await simulator.WaitForStatAsync("inFlight", 0);

        Assert.Equal(HttpStatusCode.TooManyRequests, eleventh.StatusCode);
        Assert.Contains("concurrent", await ReadPropertyAsync(eleventh, "message"), StringComparison.Ordinal);
        switch (format)
        {
            case "Seconds":
                Assert.Equal("1", Assert.Single(eleventh.Headers.GetValues("Retry-After")));
                break;
            case "HttpDate":
                Assert.NotNull(eleventh.Headers.RetryAfter?.Date);
                break;
            default:
                Assert.False(eleventh.Headers.Contains("Retry-After"));
                break;
        }

        Assert.Equal(Cap + 1, stats.RootElement.GetProperty("peakInFlight").GetInt32());
        Assert.Equal(Cap, stats.RootElement.GetProperty("inFlight").GetInt32());
        using (var reset = await simulator.Client.PostAsync("_simulator/reset", null))
        {
            Assert.Equal(HttpStatusCode.NoContent, reset.StatusCode);
        }

        using var afterReset = await simulator.GetJsonAsync("_simulator/stats");
        Assert.Equal(0, afterReset.RootElement.GetProperty("peakInFlight").GetInt32());
    }

    [Theory]
    [InlineData("TokenBucket")]
    [InlineData("SlidingWindow")]
    [InlineData("FixedWindowMinute")]
    public async Task Rate_limit_counts_a_call_when_it_arrives_and_refuses_at_once(string shape)
    {
        // Both calls in one calendar minute (a per-second window could turn between them: it is left out).
        while (DateTime.UtcNow.Second >= 55)
            await Task.Delay(TimeSpan.FromMilliseconds(500));

        // One call a second (a minute's window: 60 a minute); the first call is held in its latency for ten minutes.
        var limit = shape == "FixedWindowMinute" ? 1.0 / 60 : 1;
        await using var simulator = await SimulatorHost.StartAsync(
            $"--Simulator:RateLimitPerSecond={limit.ToString(System.Globalization.CultureInfo.InvariantCulture)}",
            $"--Simulator:RateLimitShape={shape}", "--Simulator:LatencyMs=600000");
        using var hold = new CancellationTokenSource();
        var held = simulator.PostPortalAsync("external:held", cancellationToken: hold.Token);
        await simulator.WaitForStatAsync("inFlight", 1);

        // Counted on arrival, the held call has spent the limit: the next call is refused without waiting for the latency.
        using var refusal = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var next = await simulator.PostPortalAsync("external:next", cancellationToken: refusal.Token);
        await hold.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => held);

        Assert.Equal(HttpStatusCode.TooManyRequests, next.StatusCode);
        Assert.True(next.Headers.Contains("Retry-After"));
    }

    [Fact]
    public async Task Peak_in_flight_counts_concurrent_calls_without_a_cap()
    {
        await using var simulator = await SimulatorHost.StartAsync("--Simulator:LatencyMs=600000");
        using var hold = new CancellationTokenSource();
        var held = Enumerable.Range(0, 3).Select(i => simulator.PostPortalAsync($"external:held-{i}", cancellationToken: hold.Token)).ToList();
        await simulator.WaitForStatAsync("inFlight", 3);
        await hold.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Task.WhenAll(held));
        await simulator.WaitForStatAsync("inFlight", 0);

        using var stats = await simulator.GetJsonAsync("_simulator/stats");

        Assert.Equal(3, stats.RootElement.GetProperty("peakInFlight").GetInt32());
        Assert.Equal(3, stats.RootElement.GetProperty("byStatus").GetProperty("499").GetInt32());
    }

    private static DateTimeOffset TruncateToSecond(DateTimeOffset value) =>
        new(value.UtcTicks - (value.UtcTicks % TimeSpan.TicksPerSecond), TimeSpan.Zero);

    private static async Task<string> ReadPropertyAsync(HttpResponseMessage response, string name)
    {
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return document.RootElement.GetProperty(name).GetString()!;
    }

    private sealed class SimulatorHost : IAsyncDisposable
    {
        private const int MaxPolls = 1500;
        private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(20);

        private readonly WebApplication app;

        private SimulatorHost(WebApplication app, HttpClient client)
        {
            this.app = app;
            Client = client;
        }

        public HttpClient Client { get; }

        /// <summary>Starts a simulator with its admin endpoints on and default options, overridden by <paramref name="settings"/> command-line arguments.</summary>
        public static Task<SimulatorHost> StartAsync(params string[] settings) =>
            StartWithoutAdminAsync(["--Simulator:AdminEndpoints=true", .. settings]);

        /// <summary>Starts a simulator with default options (admin endpoints off), overridden by <paramref name="settings"/>.</summary>
        public static async Task<SimulatorHost> StartWithoutAdminAsync(params string[] settings)
        {
            string[] args = ["--urls", "http://127.0.0.1:0", "--Logging:LogLevel:Default=Warning", .. settings];
            var app = UpflowSimulatorApp.Build(args);
            await app.StartAsync();
            var client = new HttpClient { BaseAddress = new Uri(app.Urls.Single().TrimEnd('/') + "/") };
            return new SimulatorHost(app, client);
        }

        /// <summary>Posts to the portal endpoint; <paramref name="encodedCustomerId"/> goes into the path as given.</summary>
        public async Task<HttpResponseMessage> PostPortalAsync(
            string encodedCustomerId, string? json = null, string apiSecret = "sim-secret", CancellationToken cancellationToken = default)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, $"v1/customers/{encodedCustomerId}/portal");
            request.Headers.Add("X-Api-Key", "sim-key");
            request.Headers.Add("X-Api-Secret", apiSecret);
            if (json is not null)
            {
                request.Content = new StringContent(json, Encoding.UTF8, "application/json");
            }

            return await Client.SendAsync(request, cancellationToken);
        }

        public Task<HttpResponseMessage> PutConfigAsync(string json) =>
            Client.PutAsync("_simulator/config", new StringContent(json, Encoding.UTF8, "application/json"));

        public async Task<JsonDocument> GetJsonAsync(string relativeUrl) =>
            JsonDocument.Parse(await Client.GetStringAsync(relativeUrl));

        /// <summary>Polls <c>/_simulator/stats</c> until the named figure equals <paramref name="expected"/>; fails after <see cref="MaxPolls"/> polls.</summary>
        public async Task WaitForStatAsync(string name, int expected)
        {
            var seen = -1;
            for (var poll = 0; poll < MaxPolls; poll++)
            {
                using var stats = await GetJsonAsync("_simulator/stats");
                seen = stats.RootElement.GetProperty(name).GetInt32();
                if (seen == expected)
                {
                    return;
                }

                await Task.Delay(PollInterval);
            }

            Assert.Fail($"{name} stayed {seen}, expected {expected}");
        }

        public async ValueTask DisposeAsync()
        {
            Client.Dispose();
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }
}
