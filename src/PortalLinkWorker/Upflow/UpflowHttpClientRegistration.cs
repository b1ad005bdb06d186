using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Options;
using Polly;

namespace PortalLinkWorker.Upflow;

/// <summary>Registers <see cref="UpflowClient"/> with its resilience pipeline, the shared rate budget, and check-config's
/// contract check. The stores the budget and the call slots live in (<see cref="IRateBudgetStore"/>,
/// <see cref="IUpflowSlotLocks"/>) are registered by whoever provides them: PostgreSQL's in the worker's database wiring,
/// in-memory ones in tests.</summary>
public static class UpflowHttpClientRegistration
{
    public static IServiceCollection AddUpflowClient(this IServiceCollection services)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.AddMetrics();
        services.AddSingleton<SendingWindow>();
        services.AddSingleton<RateBudget>();
        services.AddSingleton(sp => new UpflowCallSlots(sp.GetRequiredService<IUpflowSlotLocks>(),
            sp.GetRequiredService<IOptions<UpflowOptions>>().Value, sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton<UpflowAvailability>();
        services.AddSingleton<UpflowPace>();
        services.AddSingleton<UpflowMetrics>();
        services.AddSingleton<UpflowContractCheck>();

        var upflow = services.AddHttpClient<UpflowClient>(ConfigureUpflow)
            // The default HttpClient loggers would print every request URI; our own log lines say what matters
            // (request id, customer id, status) and nothing of the response.
            .RemoveAllLoggers()
            .ConfigurePrimaryHttpMessageHandler(sp => UntrustingHandler(sp.GetRequiredService<SendingWindow>()));
        upflow.AddResilienceHandler("upflow", (pipeline, context) =>
            {
                var sp = context.ServiceProvider;
                Build(pipeline, sp.GetRequiredService<IOptions<UpflowOptions>>().Value, sp.GetRequiredService<TimeProvider>(),
                    sp.GetRequiredService<UpflowPace>(), sp.GetRequiredService<UpflowCallSlots>(), sp.GetRequiredService<UpflowMetrics>());
            });
        // Added after the resilience handler, so inside it: the body is read within the attempt timeout.
        upflow.AddHttpMessageHandler(() => new BoundedAnswerHandler());
        var check = services.AddHttpClient(UpflowContractCheck.ClientName, ConfigureUpflow)
            .RemoveAllLoggers()
            .ConfigurePrimaryHttpMessageHandler(() => UntrustingHandler(null));
        check.AddResilienceHandler(UpflowContractCheck.ClientName, (pipeline, context) =>
                pipeline.AddTimeout(context.ServiceProvider.GetRequiredService<IOptions<UpflowOptions>>().Value.AttemptTimeout));
        check.AddHttpMessageHandler(() => new BoundedAnswerHandler());
        return services;
    }

    /// <summary>Upflow's answers are untrusted. No redirect is followed: HttpClient would send X-Api-Key and X-Api-Secret
    /// (default headers) to wherever a 3xx points; the client fails the request instead. The unread rest of an
    /// abandoned body (over the size bound, or past the attempt timeout) is never drained: the connection is closed.
    /// No automatic decompression, so the size bound is the size received. Each connection opened is told to the
    /// <paramref name="sending"/> window (a call that waited for one reached Upflow late).</summary>
    private static SocketsHttpHandler UntrustingHandler(SendingWindow? sending) => new()
    {
        AllowAutoRedirect = false,
        MaxResponseDrainSize = 0,
        AutomaticDecompression = System.Net.DecompressionMethods.None,
        PlaintextStreamFilter = sending is null
            ? null
            : (context, _) =>
            {
                sending.ConnectionOpened();
                return ValueTask.FromResult(context.PlaintextStream);
            },
    };

    private static void ConfigureUpflow(IServiceProvider services, HttpClient http)
    {
        var options = services.GetRequiredService<IOptions<UpflowOptions>>().Value;
        http.BaseAddress = new Uri(options.BaseUrl.AbsoluteUri.TrimEnd('/') + "/");
        // Polly owns every timeout (see the pipeline below); HttpClient's own would surface as a cancellation.
        http.Timeout = Timeout.InfiniteTimeSpan;
        http.DefaultRequestHeaders.Add("X-Api-Key", options.ApiKey);
        http.DefaultRequestHeaders.Add("X-Api-Secret", options.ApiSecret);
        http.DefaultRequestHeaders.Accept.ParseAdd("application/json");
    }

    /// <summary>
    /// Order, outermost first: total timeout → retry → concurrency limit (<see cref="UpflowLaneLimiter"/>: live requests
    /// first, a slot reserved for them) → <see cref="UpflowCallGate"/> (pauses and the half-open trial, rate budget, the
    /// fleet's in-flight slots of <see cref="UpflowCallSlots"/>, 429s) → attempt timeout. The budget sits inside the retry, unlike the usual order, because every attempt
    /// spends Upflow's budget, not only the first; the attempt timeout sits inside the gate so that waiting for the
    /// budget is not mistaken for a slow Upflow.
    /// </summary>
    internal static void Build(ResiliencePipelineBuilder<HttpResponseMessage> pipeline, UpflowOptions options, TimeProvider time,
        UpflowPace pace, UpflowCallSlots? slots = null, UpflowMetrics? metrics = null)
    {
        pipeline.AddTimeout(options.TotalTimeout);
        if (options.MaxRetryAttempts > 0)
        {
            pipeline.AddRetry(new HttpRetryStrategyOptions
            {
                MaxRetryAttempts = options.MaxRetryAttempts,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = options.RetryBaseDelay,
                // Polly's own Retry-After handling waits as long as the server says, without a cap.
                ShouldRetryAfterHeader = false,
                DelayGenerator = args =>
                {
                    if (args.Outcome.Result is { } response && RetryAfterHeader.Read(response.Headers, time.GetUtcNow()) is { } wait)
                        return ValueTask.FromResult<TimeSpan?>(wait < options.MaxRetryAfter ? wait : options.MaxRetryAfter);
                    return ValueTask.FromResult<TimeSpan?>(null);
                },
            });
        }
        // Callers waiting for a slot are bounded by the consumers' concurrency (live plus bulk lane).
        pipeline.AddStrategy(_ => new UpflowLaneLimiter(options), new UpflowCallGateOptions());
        pipeline.AddStrategy(_ => new UpflowCallGate(pace, options, time, slots, metrics), new UpflowCallGateOptions());
        pipeline.AddTimeout(options.AttemptTimeout);
    }

    private sealed class UpflowCallGateOptions : ResilienceStrategyOptions;
}
