using System.Collections.Concurrent;
using System.Net;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using PortalLinkContracts;
using PortalLinkWorker.Upflow;

namespace PortalLinkWorker.Tests.Upflow;

/// <summary>A 2xx without a readable portal URL pauses calls like refused credentials: the client, its pipeline and the
/// pace as production registers them (<see cref="UpflowHttpClientRegistration.AddUpflowClient"/>), over a fake HTTP
/// handler and a fake clock. One queued request tries per <see cref="UpflowOptions.UnreadableAnswerProbeInterval"/>, and
/// only a link read resumes.</summary>
[Trait("Category", "Unit")]
public sealed class UnreadableAnswerPauseTests
{
    private static readonly TimeSpan ProbeInterval = TimeSpan.FromSeconds(10);

    /// <summary>Answers with whatever <see cref="Answer"/> says now, counting calls.</summary>
    private sealed class SwitchableUpflow : HttpMessageHandler
    {
        private int _calls;

        public volatile Func<HttpResponseMessage> Answer = () => Json("""{"url":"https://portal.test/p/good"}""");

        public int Calls => Volatile.Read(ref _calls);

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _calls);
            return Task.FromResult(Answer());
        }
    }

    private static HttpResponseMessage Json(string body, HttpStatusCode status = HttpStatusCode.OK) =>
        new(status) { Content = new StringContent(body, Encoding.UTF8, "application/json") };

    private sealed record Setup(ServiceProvider Services, SwitchableUpflow Upflow, FakeTimeProvider Time, ConcurrentQueue<(LogLevel Level, string Text)> Logs)
        : IDisposable
    {
        public void Dispose() => Services.Dispose();

        public UpflowClient Client => Services.GetRequiredService<UpflowClient>();
        public UpflowAvailability Availability => Services.GetRequiredService<UpflowAvailability>();
        public UpflowPace Pace => Services.GetRequiredService<UpflowPace>();

        public Task<UpflowAnswer> CallAsync(string customerId = "external:1") =>
            Client.CreatePortalLinkAsync(Guid.NewGuid(), customerId, 3600, null, CancellationToken.None);

        public int Errors => Logs.Count(l => l.Level == LogLevel.Error);
    }

    private static Setup Build(string urlField = UpflowOptions.DefaultUrlField)
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 1, 12, 0, 0, TimeSpan.Zero));
        var upflow = new SwitchableUpflow();
        var logs = new ConcurrentQueue<(LogLevel, string)>();
        var services = new ServiceCollection();
        services.AddLogging(logging => logging.AddProvider(new RecordingLoggerProvider(logs)).SetMinimumLevel(LogLevel.Trace));
        services.AddSingleton<TimeProvider>(time);
        services.AddSingleton<IRateBudgetStore>(new InMemoryRateBudgetStore(time));
        services.AddSingleton(new InMemorySlotLocks().For());
        services.AddOptions<UpflowOptions>().Configure(options =>
        {
            options.BaseUrl = new Uri("https://upflow.test/v1");
            options.ApiKey = "k";
            options.ApiSecret = "s";
            options.PortalHosts = "portal.test";
            options.UrlField = urlField;
            options.MaxRequestsPerSecond = 0;
            options.MaxRetryAttempts = 0;
            options.UnreadableAnswerProbeInterval = ProbeInterval;
        });
        services.AddUpflowClient();
        services.AddHttpClient<UpflowClient>().ConfigurePrimaryHttpMessageHandler(() => upflow);
        return new Setup(services.BuildServiceProvider(), upflow, time, logs);
    }

    [Fact]
    public async Task AnswerWithoutUrl_PausesEveryone_OneTrialPerInterval_ALinkReadResumes()
    {
        using var setup = Build();
        setup.Upflow.Answer = () => Json("""{"link":"https://portal.test/p/s3cret","id":"s3cret-id"}""");

        // The first unreadable answer: no failure, the request is handed back and calls pause.
        Assert.IsType<UpflowAnswer.Paused>(await setup.CallAsync());
        var state = setup.Pace.State;
        Assert.Equal(UpflowPhase.AnswerUnreadable, state.Phase);
        Assert.Equal("a JSON object with fields link (string), id (string)", state.Unreadable!.Received);
        Assert.Contains("no 'url' field", state.Unreadable.Problem);
        Assert.Equal(1, setup.Errors);
        Assert.DoesNotContain(setup.Logs, l => l.Text.Contains("s3cret", StringComparison.Ordinal));

        // While paused: no call at all.
        Assert.IsType<UpflowAnswer.Paused>(await setup.CallAsync());
        Assert.Equal(1, setup.Upflow.Calls);
        Assert.False(setup.Availability.IsHalfOpen);

        // After the interval, one request tries; the same answer pauses again, without a second error line.
        setup.Time.Advance(ProbeInterval);
        Assert.True(setup.Availability.IsHalfOpen);
        Assert.IsType<UpflowAnswer.Paused>(await setup.CallAsync());
        Assert.Equal(2, setup.Upflow.Calls);
        Assert.False(setup.Availability.IsHalfOpen);
        Assert.Equal(UpflowPhase.AnswerUnreadable, setup.Pace.State.Phase);
        Assert.Equal(1, setup.Errors);

        // A trial answered with no link at all (this customer is unknown) decides nothing: that request fails on its own
        // merits, the pause holds, and the next request is the trial.
        setup.Time.Advance(ProbeInterval);
        setup.Upflow.Answer = () => Json("""{"message":"Customer not found"}""", HttpStatusCode.NotFound);
        Assert.Equal(PortalLinkFailureReason.CustomerNotFound, Assert.IsType<UpflowAnswer.Refused>(await setup.CallAsync("external:unknown")).Reason);
        Assert.Equal(UpflowPhase.AnswerUnreadable, setup.Pace.State.Phase);
        Assert.True(setup.Availability.IsHalfOpen);

        // Answers are right again: the next trial reads a link and calls resume for everyone.
        setup.Upflow.Answer = () => Json("""{"url":"https://portal.test/p/good"}""");
        Assert.IsType<UpflowAnswer.Issued>(await setup.CallAsync());
        Assert.Equal(UpflowPhase.Calling, setup.Pace.State.Phase);
        Assert.Null(setup.Pace.State.Unreadable);
        Assert.IsType<UpflowAnswer.Issued>(await setup.CallAsync());
        Assert.Equal(5, setup.Upflow.Calls);
    }

    [Fact]
    public async Task AnotherShapeWhilePaused_LoggedOnceMore_AndShownInTheState()
    {
        using var setup = Build();
        setup.Upflow.Answer = () => Json("""{"link":"https://portal.test/p/x"}""");
        await setup.CallAsync();
        setup.Time.Advance(ProbeInterval);
        setup.Upflow.Answer = () => new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent("<html/>", Encoding.UTF8, "text/html") };

        Assert.IsType<UpflowAnswer.Paused>(await setup.CallAsync());

        Assert.Equal(2, setup.Errors);
        Assert.Contains("content type text/html", setup.Pace.State.Unreadable!.Problem);
    }

    [Fact]
    public async Task RenamedField_ReadThroughUrlField_NoPause()
    {
        using var setup = Build(urlField: "link");
        setup.Upflow.Answer = () => Json("""{"link":"https://portal.test/p/renamed","id":"x"}""");

        Assert.Equal("https://portal.test/p/renamed", Assert.IsType<UpflowAnswer.Issued>(await setup.CallAsync()).Url);
        Assert.Equal(UpflowPhase.Calling, setup.Pace.State.Phase);
    }

    [Fact]
    public async Task OutagePauseTrial_AnsweredWithoutAReadableUrl_TurnsIntoTheUnreadablePause()
    {
        using var setup = Build();
        setup.Availability.ReportOutage();
        setup.Time.Advance(TimeSpan.FromSeconds(5));
        Assert.True(setup.Availability.IsHalfOpen);
        setup.Upflow.Answer = () => Json("""{"link":"https://portal.test/p/x"}""");

        Assert.IsType<UpflowAnswer.Paused>(await setup.CallAsync());

        Assert.Equal(UpflowPause.AnswerUnreadable, setup.Availability.Pause);
        // The other answers of Upflow (here a 404 from a call sent before) do not end it.
        setup.Availability.ReportAnswered();
        Assert.Equal(UpflowPause.AnswerUnreadable, setup.Availability.Pause);
    }

    private sealed class RecordingLoggerProvider(ConcurrentQueue<(LogLevel, string)> lines) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new Recorder(lines);

        public void Dispose()
        {
        }

        private sealed class Recorder(ConcurrentQueue<(LogLevel, string)> lines) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception,
                Func<TState, Exception?, string> formatter) =>
                lines.Enqueue((logLevel, formatter(state, exception) + exception));
        }
    }
}
