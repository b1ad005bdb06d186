using System.Net;
using System.Net.Http.Headers;

namespace PortalLinkWorker.Tests.Integration.Operations;

/// <summary>The operations endpoint as an attacker's page would meet it: foreign Host names refused (DNS rebinding),
/// the status page never framed nor sniffed, and with <c>Operations:StatusToken</c> set, the page and its data behind
/// the token while health and metrics stay open.</summary>
[Collection(WorkerCollection.Name)]
[Trait("Category", "Integration")]
public sealed class OperationsSecurityTests(WorkerFixture fixture)
{
    private const string Token = "0123456789abcdef0123456789abcdef";

    [Fact]
    public async Task StatusPage_Headers_ForeignHostRefused()
    {
        using var http = new HttpClient { BaseAddress = fixture.Worker.Url };

        using var page = await http.GetAsync("/");
        var csp = string.Join(' ', page.Headers.GetValues("Content-Security-Policy"));
        Assert.Contains("frame-ancestors 'none'", csp);
        Assert.Contains("script-src 'sha256-", csp);
        Assert.Equal("nosniff", Assert.Single(page.Headers.GetValues("X-Content-Type-Options")));
        using var json = await http.GetAsync("/status.json");
        Assert.Equal("nosniff", Assert.Single(json.Headers.GetValues("X-Content-Type-Options")));

        using var rebound = new HttpRequestMessage(HttpMethod.Get, "/status.json");
        rebound.Headers.Host = "attacker.example";
        Assert.Equal(HttpStatusCode.BadRequest, (await http.SendAsync(rebound)).StatusCode);
    }

    [Fact]
    public async Task StatusToken_PageAndJsonNeedIt_HealthAndMetricsDoNot()
    {
        await fixture.Worker.StopAsync();
        try
        {
            await fixture.Worker.StartAsync(new Dictionary<string, string> { ["Operations:StatusToken"] = Token });
            using var http = new HttpClient { BaseAddress = fixture.Worker.Url };

            Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync("/")).StatusCode);
            Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync("/status.json")).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/health/live")).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/metrics")).StatusCode);
            using var wrong = new HttpRequestMessage(HttpMethod.Get, "/status.json") { Headers = { Authorization = new AuthenticationHeaderValue("Bearer", Token + "x") } };
            Assert.Equal(HttpStatusCode.Unauthorized, (await http.SendAsync(wrong)).StatusCode);
            using var right = new HttpRequestMessage(HttpMethod.Get, "/status.json") { Headers = { Authorization = new AuthenticationHeaderValue("Bearer", Token) } };
            Assert.Equal(HttpStatusCode.OK, (await http.SendAsync(right)).StatusCode);
        }
        finally
        {
            await fixture.Worker.StopAsync();
            await fixture.Worker.StartAsync();
        }
    }
}
