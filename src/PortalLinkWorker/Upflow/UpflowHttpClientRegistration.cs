using System.Threading.RateLimiting;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Options;
using Polly;

namespace PortalLinkWorker.Upflow;

/// <summary>Registers <see cref="UpflowClient"/> with its resilience pipeline.</summary>
public static class UpflowHttpClientRegistration
{
    /// <summary>Most callers queued for the rate budget or a concurrency slot; beyond it a call fails fast as
    /// unavailable instead of queueing without bound. Far above any consumer concurrency.</summary>
    private const int MaxQueuedCalls = 10_000;

    public static IServiceCollection AddUpflowClient(this IServiceCollection services)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.AddHttpClient<UpflowClient>((sp, http) =>
            {
                var options = sp.GetRequiredService<IOptions<UpflowOptions>>().Value;
                http.BaseAddress = new Uri(options.BaseUrl.AbsoluteUri.TrimEnd('/') + "/");
                // Polly owns every timeout (see the pipeline below); HttpClient's own would surface as a cancellation.
                http.Timeout = Timeout.InfiniteTimeSpan;
                http.DefaultRequestHeaders.Add("X-Api-Key", options.ApiKey);
                http.DefaultRequestHeaders.Add("X-Api-Secret", options.ApiSecret);
                http.DefaultRequestHeaders.Accept.ParseAdd("application/json");
            })
            // The default HttpClient loggers would print every request URI; our own log lines say what matters
            // (request id, customer id, status) and nothing of the response.
            .RemoveAllLoggers()
            .AddResilienceHandler("upflow", (pipeline, context) =>
                Build(pipeline, context.ServiceProvider.GetRequiredService<IOptions<UpflowOptions>>().Value,
                    context.ServiceProvider.GetRequiredService<TimeProvider>()));
        return services;
    }

    /// <summary>
    /// Order, outermost first: total timeout → retry → concurrency limit → token bucket → attempt timeout.
    /// The limits sit inside the retry, unlike the usual order, because every attempt spends Upflow's budget,
    /// not only the first.
    /// </summary>
    internal static void Build(ResiliencePipelineBuilder<HttpResponseMessage> pipeline, UpflowOptions options, TimeProvider time)
    {
        pipeline.AddTimeout(options.TotalTimeout);
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
        pipeline.AddConcurrencyLimiter(options.MaxConcurrentRequests, MaxQueuedCalls);
        if (options.MaxRequestsPerSecond > 0)
            pipeline.AddRateLimiter(CreateTokenBucket(options.MaxRequestsPerSecond));
        pipeline.AddTimeout(options.AttemptTimeout);
    }

    /// <summary>One token every 1/rate seconds, refilled at least every 10 ms so high rates stay smooth; the bucket
    /// holds one second's worth, Upflow counting its limit per minute.</summary>
    internal static TokenBucketRateLimiter CreateTokenBucket(double requestsPerSecond)
    {
        var period = TimeSpan.FromSeconds(Math.Max(1 / requestsPerSecond, 0.01));
        var tokensPerPeriod = Math.Max(1, (int)Math.Round(requestsPerSecond * period.TotalSeconds));
        return new TokenBucketRateLimiter(new TokenBucketRateLimiterOptions
        {
            TokenLimit = Math.Max(1, (int)Math.Ceiling(requestsPerSecond)),
            TokensPerPeriod = tokensPerPeriod,
            ReplenishmentPeriod = period,
            QueueLimit = MaxQueuedCalls,
            QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
            AutoReplenishment = true,
        });
    }
}
