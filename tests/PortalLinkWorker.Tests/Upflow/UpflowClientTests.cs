using System.Net;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using PortalLinkContracts;
using PortalLinkWorker.Upflow;

namespace PortalLinkWorker.Tests.Upflow;

/// <summary>How the client turns Upflow's answers into outcomes. The HTTP server is a fake here (this tests the
/// classification, not HTTP); the integration tests drive the same client against the simulator over real HTTP.</summary>
[Trait("Category", "Unit")]
public sealed class UpflowClientTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 28, 12, 0, 0, TimeSpan.Zero);

    private sealed class FixedAnswer(HttpStatusCode status, string body) : HttpMessageHandler
    {
        public HttpRequestMessage? Request { get; private set; }
        public string? RequestBody { get; private set; }

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Request = request;
            RequestBody = request.Content is null ? null : await request.Content.ReadAsStringAsync(cancellationToken);
            return new HttpResponseMessage(status) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        }
    }

    private sealed class FixedBytes(byte[] body) : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK) { Content = new ByteArrayContent(body) });
    }

    private sealed class Unreachable(Exception error) : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            Task.FromException<HttpResponseMessage>(error);
    }

    private static UpflowClient Client(HttpMessageHandler handler) => Client(handler, out _);

    /// <summary>The client with a real <see cref="UpflowAvailability"/> behind its pace, to see what an answer did to it.</summary>
    private static UpflowClient Client(HttpMessageHandler handler, out UpflowAvailability availability, string urlField = UpflowOptions.DefaultUrlField)
    {
        var time = new FakeTimeProvider(Now);
        var options = new UpflowOptions { PortalHosts = "portal.test", UrlField = urlField };
        availability = new UpflowAvailability(Options.Create(options), time, NullLogger<UpflowAvailability>.Instance);
        var pace = new UpflowPace(RateBudgetTests.Budget(new InMemoryRateBudgetStore(time), time, options), availability, time);
        return new(new HttpClient(handler) { BaseAddress = new Uri("https://upflow.test/v1/") },
            Options.Create(options), time, NullLogger<UpflowClient>.Instance, pace);
    }

    [Fact]
    public async Task Create_200WithUrl_IssuedWithExpiryFromExpiresIn()
    {
        var handler = new FixedAnswer(HttpStatusCode.OK, """{"url":"https://portal.test/p/abc"}""");
        var result = await Client(handler).CreatePortalLinkAsync(Guid.NewGuid(), "external:ACME/42 #1", 3600, null, CancellationToken.None);

        var issued = Assert.IsType<UpflowAnswer.Issued>(result);
        Assert.Equal("https://portal.test/p/abc", issued.Url);
        Assert.Equal(Now.AddSeconds(3600), issued.ExpiresAt);
        Assert.Equal("/v1/customers/external:ACME%2F42%20%231/portal", handler.Request!.RequestUri!.AbsolutePath);
        Assert.Equal("""{"expiresIn":3600}""", handler.RequestBody);
    }

    [Fact]
    public async Task Create_FrameAncestorsGiven_SentInBody()
    {
        var handler = new FixedAnswer(HttpStatusCode.OK, """{"url":"https://portal.test/p/abc"}""");
        await Client(handler).CreatePortalLinkAsync(Guid.NewGuid(), "external:1", 86400, "a.example b.example", CancellationToken.None);
        Assert.Equal("""{"expiresIn":86400,"frameAncestors":"a.example b.example"}""", handler.RequestBody);
    }

    [Fact]
    public async Task Create_ResponseCarriesExpiry_ItWins()
    {
        var handler = new FixedAnswer(HttpStatusCode.OK, """{"url":"https://portal.test/p/abc","expiresAt":"2026-12-01T00:00:00Z"}""");
        var issued = Assert.IsType<UpflowAnswer.Issued>(await Client(handler).CreatePortalLinkAsync(Guid.NewGuid(), "external:1", 60, null, CancellationToken.None));
        Assert.Equal(new DateTimeOffset(2026, 12, 1, 0, 0, 0, TimeSpan.Zero), issued.ExpiresAt);
    }

    [Theory]
    [InlineData(HttpStatusCode.NotFound, PortalLinkFailureReason.CustomerNotFound)]
    [InlineData(HttpStatusCode.BadRequest, PortalLinkFailureReason.Rejected)]
    [InlineData(HttpStatusCode.UnprocessableEntity, PortalLinkFailureReason.Rejected)]
    [InlineData(HttpStatusCode.Conflict, PortalLinkFailureReason.Rejected)]
    public async Task Create_ErrorStatus_ClassifiedByReason(HttpStatusCode status, string reason)
    {
        var result = await Client(new FixedAnswer(status, """{"message":"told you\nso"}""")).CreatePortalLinkAsync(Guid.NewGuid(), "external:1", 60, null, CancellationToken.None);
        var refused = Assert.IsType<UpflowAnswer.Refused>(result);
        Assert.Equal(reason, refused.Reason);
        Assert.Equal((int)status, refused.StatusCode);
        Assert.DoesNotContain('\n', refused.Message);
    }

    [Theory]
    [InlineData(HttpStatusCode.TooManyRequests)]
    [InlineData(HttpStatusCode.RequestTimeout)]
    [InlineData(HttpStatusCode.InternalServerError)]
    [InlineData(HttpStatusCode.ServiceUnavailable)]
    public async Task Create_TransientStatusAfterRetries_IsUnavailable(HttpStatusCode status)
    {
        var result = await Client(new FixedAnswer(status, """{"message":"told you\nso"}""")).CreatePortalLinkAsync(Guid.NewGuid(), "external:1", 60, null, CancellationToken.None);
        var unavailable = Assert.IsType<UpflowAnswer.Unavailable>(result);
        Assert.Equal((int)status, unavailable.StatusCode);
        Assert.DoesNotContain('\n', unavailable.Message);
    }

    [Theory]
    [InlineData("""{"link":"https://portal.test/p/abc","id":"x"}""", "fields link (string), id (string)")]
    [InlineData("""{}""", "no fields")]
    [InlineData("""not json""", "not JSON")]
    [InlineData("""["https://portal.test"]""", "array")]
    [InlineData("""{"url":"javascript:alert(1)"}""", "not https")]
    [InlineData("""{"url":"portal.test/p/no-scheme"}""", "not an absolute URL")]
    public async Task Create_200WithoutUsableUrl_PausesCallsNamingWhatCame_NoFailure(string body, string expected)
    {
        var result = await Client(new FixedAnswer(HttpStatusCode.OK, body), out var availability)
            .CreatePortalLinkAsync(Guid.NewGuid(), "external:1", 60, null, CancellationToken.None);

        // Not a failure of the request: it goes back to the queue, and calls pause for everyone.
        Assert.IsType<UpflowAnswer.Paused>(result);
        Assert.Equal(UpflowPause.AnswerUnreadable, availability.Pause);
        Assert.Contains(expected, availability.Unreadable!.ToString());
        Assert.DoesNotContain("portal.test/p/", availability.Unreadable.ToString());
    }

    [Fact]
    public async Task Create_UrlUnderTheConfiguredField_Issued()
    {
        var result = await Client(new FixedAnswer(HttpStatusCode.OK, """{"link":"https://portal.test/p/abc","id":"x"}"""), out var availability, urlField: "link")
            .CreatePortalLinkAsync(Guid.NewGuid(), "external:1", 60, null, CancellationToken.None);

        Assert.Equal("https://portal.test/p/abc", Assert.IsType<UpflowAnswer.Issued>(result).Url);
        Assert.Equal(UpflowPause.None, availability.Pause);
    }

    [Fact]
    public async Task Create_AnswerWithByteOrderMark_IsRead()
    {
        var body = Encoding.UTF8.GetPreamble().Concat(Encoding.UTF8.GetBytes("""{"url":"https://portal.test/p/bom"}""")).ToArray();
        var issued = Assert.IsType<UpflowAnswer.Issued>(
            await Client(new FixedBytes(body)).CreatePortalLinkAsync(Guid.NewGuid(), "external:1", 60, null, CancellationToken.None));
        Assert.Equal("https://portal.test/p/bom", issued.Url);
    }

    [Theory]
    [InlineData(60_000, true)]
    [InlineData(70_000, false)]
    public async Task Create_AnswerOver64KB_IsCutAndNotRead(int padding, bool readable)
    {
        // Valid JSON either way; only the one over the 64 KB bound is cut, and then it is no JSON.
        var body = Encoding.UTF8.GetBytes("{\"url\":\"https://portal.test/p/big\"," + new string(' ', padding) + "\"x\":1}");
        var result = await Client(new FixedBytes(body)).CreatePortalLinkAsync(Guid.NewGuid(), "external:1", 60, null, CancellationToken.None);
        if (readable)
            Assert.Equal("https://portal.test/p/big", Assert.IsType<UpflowAnswer.Issued>(result).Url);
        else
            Assert.IsType<UpflowAnswer.Paused>(result);
    }

    [Fact]
    public async Task Create_ErrorBodyNamingAUrl_IsQuotedWithoutIt()
    {
        var refused = Assert.IsType<UpflowAnswer.Refused>(await Client(new FixedAnswer(HttpStatusCode.UnprocessableEntity,
            """{"error":"link https://portal.test/p/s3cr3t-token exists"}""")).CreatePortalLinkAsync(Guid.NewGuid(), "external:1", 60, null, CancellationToken.None));
        Assert.DoesNotContain("s3cr3t-token", refused.Message);
        Assert.Contains("[url]", refused.Message);
    }

    [Theory]
    [InlineData("line\u2028break", "line?break")]
    [InlineData("bidi \u202Eoverride", "bidi ?override")]
    [InlineData("zero\u200Bwidth", "zero?width")]
    [InlineData("cr\\r\\nlf", "cr??lf")]
    public async Task Create_ErrorBodyWithUnsafeCharacters_IsQuotedCleaned(string jsonMessage, string quoted)
    {
        var refused = Assert.IsType<UpflowAnswer.Refused>(await Client(new FixedAnswer(HttpStatusCode.UnprocessableEntity,
            $$"""{"message":"{{jsonMessage}}"}""")).CreatePortalLinkAsync(Guid.NewGuid(), "external:1", 60, null, CancellationToken.None));
        Assert.EndsWith(": " + quoted, refused.Message);
    }

    [Fact]
    public async Task Create_LongErrorBody_QuotedAtMost300Characters()
    {
        var refused = Assert.IsType<UpflowAnswer.Refused>(await Client(new FixedAnswer(HttpStatusCode.BadRequest,
            $$"""{"message":"{{new string('x', 5_000)}}"}""")).CreatePortalLinkAsync(Guid.NewGuid(), "external:1", 60, null, CancellationToken.None));
        Assert.Contains(new string('x', 300) + "…", refused.Message);
        Assert.DoesNotContain(new string('x', 301), refused.Message);
    }

    [Theory]
    [InlineData(HttpStatusCode.MovedPermanently)]
    [InlineData(HttpStatusCode.Found)]
    [InlineData(HttpStatusCode.TemporaryRedirect)]
    [InlineData(HttpStatusCode.PermanentRedirect)]
    public async Task Create_Redirect_RejectedNamingTheStatusNotTheLocation(HttpStatusCode status)
    {
        var refused = Assert.IsType<UpflowAnswer.Refused>(await Client(new FixedAnswer(status,
            """{"message":"moved to https://evil.example/x"}""")).CreatePortalLinkAsync(Guid.NewGuid(), "external:1", 60, null, CancellationToken.None));
        Assert.Equal(PortalLinkFailureReason.Rejected, refused.Reason);
        Assert.Contains(((int)status).ToString(), refused.Message);
        Assert.DoesNotContain("evil", refused.Message);
    }

    [Fact]
    public async Task Create_TimeoutThatIsNotOurCancellation_IsUnavailableNotCancellation()
    {
        // HttpClient's timeout surfaces as TaskCanceledException; MassTransit would take it for a cancellation.
        var result = await Client(new Unreachable(new TaskCanceledException("timeout"))).CreatePortalLinkAsync(Guid.NewGuid(), "external:1", 60, null, CancellationToken.None);
        Assert.Contains("timed out", Assert.IsType<UpflowAnswer.Unavailable>(result).Message);
    }

    [Fact]
    public async Task Create_ConnectionRefused_IsUnavailable()
    {
        var result = await Client(new Unreachable(new HttpRequestException(HttpRequestError.ConnectionError, "refused")))
            .CreatePortalLinkAsync(Guid.NewGuid(), "external:1", 60, null, CancellationToken.None);
        Assert.Contains("ConnectionError", Assert.IsType<UpflowAnswer.Unavailable>(result).Message);
    }

    [Fact]
    public async Task Create_OurOwnCancellation_Propagates()
    {
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            Client(new Unreachable(new TaskCanceledException())).CreatePortalLinkAsync(Guid.NewGuid(), "external:1", 60, null, cancelled.Token));
    }
}
