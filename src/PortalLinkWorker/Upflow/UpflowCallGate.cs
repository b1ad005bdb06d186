using System.Net;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Options;
using Polly;

namespace PortalLinkWorker.Upflow;

/// <summary>
/// The per-attempt step of the Upflow pipeline: waits for the account's rate budget, refuses to call while Upflow calls
/// are paused, and reads each answer for what it says about Upflow as a whole: a 429 pauses the whole account (every
/// consumer, every replica) and is tried again here after the pause, without spending the message's retries; a 401/403
/// pauses consumption; a run of transient failures across messages means an outage.
/// </summary>
public sealed class UpflowCallGate(
    RateBudget budget,
    UpflowAvailability availability,
    UpflowOptions options,
    TimeProvider time,
    UpflowMetrics? metrics = null) : ResilienceStrategy<HttpResponseMessage>
{
    /// <summary>The pause after a 429 that says nothing of when to come back: 1 s, doubling with each 429 in a row.</summary>
    private static readonly TimeSpan FirstThrottlePause = TimeSpan.FromSeconds(1);

    private int _throttledInARow;

    protected override async ValueTask<Outcome<HttpResponseMessage>> ExecuteCore<TState>(
        Func<ResilienceContext, TState, ValueTask<Outcome<HttpResponseMessage>>> callback, ResilienceContext context, TState state)
    {
        var started = time.GetUtcNow();
        var message = context.GetRequestMessage();
        var requestId = message?.Options.TryGetValue(UpflowClient.RequestIdOption, out var id) == true ? id : Guid.Empty;
        var cancellation = message?.Options.TryGetValue(UpflowClient.CancellationOption, out var c) == true ? c : null;
        var lane = UpflowLaneLimiter.LaneOf(context);
        while (true)
        {
            var waited = time.GetUtcNow() - started;
            var maxWait = options.MaxInMemoryWait > waited ? options.MaxInMemoryWait - waited : TimeSpan.Zero;
            await budget.AcquireAsync(maxWait, lane, context.CancellationToken);
            if (availability.Pause is not UpflowPause.None and var paused)
                throw new UpflowPausedException(paused == UpflowPause.Credentials ? "Upflow refused the credentials" : "Upflow is down for everyone", null);

            // From here Upflow may issue a link: a broker drop or shutdown must not throw the answer away.
            var hold = cancellation?.Defer();
            var attemptStarted = time.GetTimestamp();
            var outcome = await callback(context, state);
            var status = outcome.Result?.StatusCode;
            metrics?.RecordAttempt(time.GetElapsedTime(attemptStarted), status, outcome.Exception);
            // Answers that issue nothing (429, 401/403, transient failures) and no answer at all leave nothing to save:
            // the message may be cancelled again. An answer to keep stays held until the consumer has saved it.
            if (status is null or HttpStatusCode.TooManyRequests or HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden ||
                HttpClientResiliencePredicates.IsTransient(outcome))
                hold?.Dispose();
            if (status == HttpStatusCode.TooManyRequests)
            {
                var pause = ThrottlePause(outcome.Result!);
                outcome.Result!.Dispose();
                await budget.ReportThrottledAsync(pause, context.CancellationToken);
                continue;
            }
            Interlocked.Exchange(ref _throttledInARow, 0);
            if (status is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
            {
                outcome.Result!.Dispose();
                availability.ReportCredentialsRejected((int)status);
                throw new UpflowPausedException($"Upflow refused the credentials ({(int)status})", null);
            }
            if (HttpClientResiliencePredicates.IsTransient(outcome))
                availability.ReportTransientFailure(requestId);
            else
                availability.ReportAnswered();
            return outcome;
        }
    }

    /// <summary>Retry-After (seconds or date), else RateLimit-Reset / X-RateLimit-Reset, else exponential backoff; never
    /// more than <see cref="UpflowOptions.MaxRetryAfter"/>. A pause longer than a message may wait in memory sends the
    /// waiting messages back to the queue (<see cref="RateBudget.AcquireAsync(TimeSpan, UpflowLane, CancellationToken)"/>).</summary>
    private TimeSpan ThrottlePause(HttpResponseMessage response)
    {
        var inARow = Interlocked.Increment(ref _throttledInARow);
        var pause = RetryAfterHeader.Read(response.Headers, time.GetUtcNow())
                    ?? FirstThrottlePause * Math.Pow(2, Math.Min(inARow - 1, 10));
        return pause < options.MaxRetryAfter ? pause : options.MaxRetryAfter;
    }
}
