using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using PortalLinkContracts;
using PortalLinkWorker.Tests.Integration;
using PortalLinkWorker.Upflow;
using Answer = PortalLinkWorker.Tests.Upflow.HostileUpflow.Answer;

namespace PortalLinkWorker.Tests.Upflow;

/// <summary>
/// Upflow's answers are untrusted: the Upflow client and the probe, built by the real registration (resilience pipeline,
/// primary handler, bounded read), against a hostile server over real HTTP. No timed assertions: an attempt that did
/// not end with its attempt timeout would hang the test (the slow body takes over half an hour to send), so the proof
/// is the outcome, the attempts the server counted, and that the server saw each abandoned answer's connection go.
/// </summary>
[Trait("Category", "Unit")]
public sealed class HostileAnswerTests
{
    private const string ApiKey = "hostile-test-key";
    private const string ApiSecret = "hostile-test-secret-8e21";

    /// <summary>Short, so the slow-body case ends quickly; it is the bound under test.</summary>
    private static readonly TimeSpan AttemptTimeout = TimeSpan.FromSeconds(1);

    /// <summary>One retry: a transient failure shows as two attempts, an answer that is final as one.</summary>
    private const int MaxRetryAttempts = 1;

    private const int AllAttempts = MaxRetryAttempts + 1;

    public static TheoryData<Answer, string, string, int> Cases => new()
    {
        // answer, outcome, reason or "" for Unavailable and Paused, Upflow calls made
        { Answer.Redirect307ToOtherHost, nameof(UpflowAnswer.Refused), PortalLinkFailureReason.Rejected, 1 },
        { Answer.Redirect302ToOtherHost, nameof(UpflowAnswer.Refused), PortalLinkFailureReason.Rejected, 1 },
        { Answer.Redirect301SameHost, nameof(UpflowAnswer.Refused), PortalLinkFailureReason.Rejected, 1 },
        // A 2xx whose URL cannot be read (or breaks the policy) pauses calls, naming the rule: a contract problem.
        { Answer.ForeignHostUrl, nameof(UpflowAnswer.Paused), "", 1 },
        { Answer.HttpUrl, nameof(UpflowAnswer.Paused), "", 1 },
        { Answer.UserInfoUrl, nameof(UpflowAnswer.Paused), "", 1 },
        { Answer.CrLfInUrl, nameof(UpflowAnswer.Paused), "", 1 },
        // A stalled body is a transient failure of that attempt: retried, then Unavailable (never a cancellation).
        { Answer.SlowBody, nameof(UpflowAnswer.Unavailable), "", AllAttempts },
        { Answer.HugeBody, nameof(UpflowAnswer.Paused), "", 1 },
        { Answer.HugeNotFound, nameof(UpflowAnswer.Refused), PortalLinkFailureReason.CustomerNotFound, 1 },
        { Answer.LinkField, nameof(UpflowAnswer.Paused), "", 1 },
        { Answer.HtmlPage, nameof(UpflowAnswer.Paused), "", 1 },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Create_HostileAnswer_NoCredentialLeavesNoLinkIssuedNothingUnbounded(Answer answer, string outcome, string reason, int calls)
    {
        await using var upflow = await HostileUpflow.StartAsync(answer);
        var logs = new ConcurrentQueue<string>();
        await using var services = Services(upflow, logs);

        var result = await services.GetRequiredService<UpflowClient>()
            .CreatePortalLinkAsync(Guid.NewGuid(), "external:hostile-1", 3600, null, CancellationToken.None);

        Assert.True(outcome == result.GetType().Name, $"{result}");
        string message;
        if (result is UpflowAnswer.Refused refused)
        {
            Assert.Equal(reason, refused.Reason);
            message = refused.Message;
        }
        else if (result is UpflowAnswer.Paused)
            message = services.GetRequiredService<UpflowAvailability>().Unreadable!.ToString();
        else
            message = Assert.IsType<UpflowAnswer.Unavailable>(result).Message;
        Assert.Equal(calls, upflow.UpflowRequests);
        Assert.Equal(0, upflow.EvilRequests);
        Assert.Equal(0, upflow.EvilRequestsWithCredentials);
        // Neither the URL, nor where a redirect pointed, nor the credentials, in the message or any log line.
        foreach (var text in logs.Append(message))
        {
            Assert.DoesNotContain(HostileUpflow.Token, text);
            Assert.DoesNotContain(upflow.EvilUrl.Authority, text);
            Assert.DoesNotContain(ApiSecret, text);
            Assert.DoesNotContain("user:pw", text);
        }

        if (answer is Answer.SlowBody)
        {
            Assert.Contains("timed out", message);
            // Each attempt was cut by the client, long before the body could have come (1,000 bytes, one per 2 s).
            await Eventually.TrueAsync(() => upflow.AbortedAnswers == AllAttempts);
        }
        if (answer is Answer.HugeBody or Answer.HugeNotFound)
            await AssertHugeBodyLeftUnreadAsync(upflow);
        if (answer is Answer.HugeBody)
            Assert.Contains("over 64 KB", message);
        if (answer is Answer.Redirect307ToOtherHost or Answer.Redirect302ToOtherHost or Answer.Redirect301SameHost)
            Assert.Contains("redirect", message);
        if (answer is Answer.ForeignHostUrl)
        {
            Assert.Contains("Upflow:PortalHosts", message);
            Assert.DoesNotContain("evil.example", message);
        }
    }

    [Fact]
    public async Task Create_AllowedUrl_IssuedInNormalisedForm()
    {
        await using var upflow = await HostileUpflow.StartAsync(Answer.GoodUrl);
        await using var services = Services(upflow, new ConcurrentQueue<string>());

        var result = await services.GetRequiredService<UpflowClient>()
            .CreatePortalLinkAsync(Guid.NewGuid(), "external:hostile-1", 3600, null, CancellationToken.None);

        // The server sent the host in capitals; what is stored and published is Uri.AbsoluteUri.
        Assert.Equal($"https://{HostileUpflow.PortalHost}/p/{HostileUpflow.Token}", Assert.IsType<UpflowAnswer.Issued>(result).Url);
    }

    public static TheoryData<Answer, string> CheckCallCases => new()
    {
        { Answer.Redirect307ToOtherHost, "a redirect (3xx)" },
        { Answer.SlowBody, "no answer" },
        { Answer.HugeNotFound, "no customer with this id (404)" },
        { Answer.ForeignHostUrl, "breaks the portal URL policy" },
    };

    [Fact]
    public async Task CheckCall_GoodAnswer_UrlMasked_ExpiryComputed()
    {
        await using var upflow = await HostileUpflow.StartAsync(Answer.GoodUrl);
        await using var services = Services(upflow, new ConcurrentQueue<string>());
        var before = DateTimeOffset.UtcNow;

        var report = await services.GetRequiredService<UpflowContractCheck>()
            .CallAsync(upflow.BaseUrl, "external:hostile-check-2", 600, CancellationToken.None);

        Assert.Null(report.Problem);
        Assert.Contains("url (string)", report.Received);
        Assert.StartsWith($"https://{HostileUpflow.PortalHost.ToLowerInvariant()}/…", report.MaskedUrl);
        Assert.DoesNotContain(HostileUpflow.Token, report.MaskedUrl + report.Received);
        Assert.InRange(report.Expiry!.Value.At, before.AddSeconds(600), DateTimeOffset.UtcNow.AddSeconds(600));
        Assert.Equal(1, upflow.UpflowRequests);
    }

    /// <summary><c>check-config --upflow-call</c>'s one call, read as the worker reads an answer.</summary>
    [Theory]
    [MemberData(nameof(CheckCallCases))]
    public async Task CheckCall_HostileAnswer_BoundedAndNoCredentialLeaves(Answer answer, string expected)
    {
        await using var upflow = await HostileUpflow.StartAsync(answer);
        await using var services = Services(upflow, new ConcurrentQueue<string>());

        var report = await services.GetRequiredService<UpflowContractCheck>()
            .CallAsync(upflow.BaseUrl, "external:hostile-check-1", UpflowContractCheck.CallExpiresIn, CancellationToken.None);

        Assert.Contains(expected, (report.Problem ?? "") + " " + report.Received);
        Assert.Null(report.MaskedUrl);
        Assert.Equal(1, upflow.UpflowRequests);
        Assert.Equal(0, upflow.EvilRequests);
        if (answer is Answer.SlowBody)
            await Eventually.TrueAsync(() => upflow.AbortedAnswers == 1);
        if (answer is Answer.HugeNotFound)
            await AssertHugeBodyLeftUnreadAsync(upflow);
    }

    /// <summary>The server's write loop ended (the client closed the connection) having sent far less than the body:
    /// beyond the 64 KB the client read, what was sent sat in loopback socket buffers (a few MB) when the client dropped
    /// the connection. The rest of the 50 MB never left the server, let alone reached the worker's memory.</summary>
    private static async Task AssertHugeBodyLeftUnreadAsync(HostileUpflow upflow)
    {
        await Eventually.TrueAsync(() => upflow.HugeAnswersEnded == 1);
        Assert.InRange(upflow.SentBytes, 0, HostileUpflow.HugeBodyBytes / 2);
    }

    /// <summary>The production registration (<see cref="UpflowHttpClientRegistration.AddUpflowClient"/>), with in-memory
    /// stand-ins for what lives in PostgreSQL (the rate budget, off anyway, and the fleet's call slots).</summary>
    private static ServiceProvider Services(HostileUpflow upflow, ConcurrentQueue<string> logs)
    {
        var services = new ServiceCollection();
        services.AddLogging(logging => logging.AddProvider(new RecordingLoggerProvider(logs)).SetMinimumLevel(LogLevel.Trace));
        services.AddSingleton<IRateBudgetStore>(new InMemoryRateBudgetStore(TimeProvider.System));
        services.AddSingleton(new InMemorySlotLocks().For());
        services.AddOptions<UpflowOptions>().Configure(options =>
        {
            options.BaseUrl = upflow.BaseUrl;
            options.ApiKey = ApiKey;
            options.ApiSecret = ApiSecret;
            options.PortalHosts = HostileUpflow.PortalHost;
            options.MaxRequestsPerSecond = 0;
            options.AttemptTimeout = AttemptTimeout;
            options.MaxRetryAttempts = MaxRetryAttempts;
            options.RetryBaseDelay = TimeSpan.Zero;
        });
        services.AddUpflowClient();
        return services.BuildServiceProvider();
    }

    private sealed class RecordingLoggerProvider(ConcurrentQueue<string> lines) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new Recorder(lines);

        public void Dispose()
        {
        }

        private sealed class Recorder(ConcurrentQueue<string> lines) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception,
                Func<TState, Exception?, string> formatter) =>
                lines.Enqueue(formatter(state, exception) + exception);
        }
    }
}
