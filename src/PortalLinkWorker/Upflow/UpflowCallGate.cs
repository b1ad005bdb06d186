using System.Net;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Options;
using Polly;

namespace PortalLinkWorker.Upflow;

/// <summary>
/// The per-attempt step of the Upflow pipeline: waits for the account's rate budget, refuses to call while Upflow calls
/// are paused, and reads each answer for what it says about Upflow as a whole: a 429 pauses the whole account (every
/// consumer, every replica) and is tried again here after the pause, without spending the message's retries; a 401/403
/// pauses consumption; a run of transient failures across messages means an outage (and a 2xx whose link cannot be read
/// pauses too, decided by <see cref="UpflowClient"/>, which reads the body). While paused, only the half-open
/// trial (<see cref="UpflowPace"/>) is sent. Pauses travel to <see cref="UpflowClient"/> as an
/// <see cref="UpflowPausedException"/> because a Polly strategy can only hand back a response or an exception; the client
/// turns it into <see cref="UpflowAnswer.Paused"/>, and nothing above it sees the exception.
/// </summary>
public sealed class UpflowCallGate(
    UpflowPace pace,
    UpflowOptions options,
    TimeProvider time,
    UpflowCallSlots? slots = null,
    UpflowMetrics? metrics = null) : ResilienceStrategy<HttpResponseMessage>
{
    /// <summary>The pause after a 429 that says nothing of when to come back: 1 s, doubling with each 429 in a row.</summary>
    private static readonly TimeSpan FirstThrottlePause = TimeSpan.FromSeconds(1);

    private int _throttledInARow;
    private long _lastPauseEndTicks;

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
            // Paused for an outage or refused credentials: no token is spent, no call made, except the one trial.
            var admission = pace.Admit();
            if (admission == UpflowAvailability.Admission.Paused)
                throw Paused();
            if (admission == UpflowAvailability.Admission.Wait)
            {
                await WaitForVerdictAsync(maxWait, context.CancellationToken);
                continue;
            }
            var trial = admission == UpflowAvailability.Admission.Trial;
            Outcome<HttpResponseMessage> outcome;
            DateTimeOffset sentAt;
            try
            {
                var due = await pace.AcquireAsync(maxWait, lane, context.CancellationToken);
                // The account's in-flight cap, across replicas: held for the call only, not while waiting for the rate.
                int? slot = slots is null ? null : await slots.AcquireAsync(lane, context.CancellationToken);
                DeferredCancellation.Hold? hold;
                long attemptStarted;
                try
                {
                    // Last, after the slot: the reserved sending time may have passed while the call waited for it.
                    var sent = await pace.SendAsync(due, context.CancellationToken);
                    sentAt = sent.SentAt;
                    // From here Upflow may issue a link: a broker drop or shutdown must not throw the answer away.
                    hold = cancellation?.Defer();
                    attemptStarted = time.GetTimestamp();
                    outcome = await callback(context, state);
                    if (outcome.Result is not null)
                        pace.ReportReceived(sent);
                }
                finally
                {
                    if (slot is { } held)
                        slots!.Release(held);
                }
                var code = outcome.Result?.StatusCode;
                metrics?.RecordAttempt(time.GetElapsedTime(attemptStarted), code, outcome.Exception);
                // Answers that issue nothing (429, 401/403, transient failures) and no answer at all leave nothing to
                // save: the message may be cancelled again. An answer to keep stays held until the consumer has saved it.
                if (code is null or HttpStatusCode.TooManyRequests or HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden ||
                    HttpClientResiliencePredicates.IsTransient(outcome))
                    hold?.Dispose();
            }
            catch when (trial)
            {
                pace.AbandonTrial();
                throw;
            }
            var status = outcome.Result?.StatusCode;
            if (status == HttpStatusCode.TooManyRequests)
            {
                // Upflow is up, but a 429 says nothing of the credentials: the next request tries after the pause.
                if (trial)
                    pace.AbandonTrial();
                var (pause, asked) = ThrottlePause(outcome.Result!, sentAt);
                outcome.Result!.Dispose();
                await pace.ReportThrottledAsync(pause, asked, sentAt, context.CancellationToken);
                continue;
            }
            Interlocked.Exchange(ref _throttledInARow, 0);
            if (status is not null)
                pace.ReportAdmitted(sentAt);
            // The one place that decides what an answer says of Upflow as a whole.
            if (status is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
            {
                outcome.Result!.Dispose();
                pace.ReportCredentialsRejected((int)status);
                throw Paused();
            }
            if (outcome.Exception is OperationCanceledException && context.CancellationToken.IsCancellationRequested)
            {
                if (trial)
                    pace.AbandonTrial();
            }
            else if (HttpClientResiliencePredicates.IsTransient(outcome))
                pace.ReportTransientFailure(requestId);
            else
            {
                pace.ReportAnswered();
                // A 2xx's body is read by UpflowClient, which gives the trial's verdict (a link read, or an answer it
                // cannot read); an answer with no link in it says nothing of that, so the next queued request tries.
                if (trial && outcome.Result is not { IsSuccessStatusCode: true })
                    pace.AbandonTrial();
            }
            return outcome;
        }
    }

    private UpflowPausedException Paused() => new(pace.State.Phase switch
    {
        UpflowPhase.CredentialsRefused => "Upflow refused the credentials",
        UpflowPhase.AnswerUnreadable => "no portal URL could be read from Upflow's answers",
        _ => "Upflow is down for everyone",
    }, null);

    /// <summary>A trial request is out: wait for its verdict (an answer resumes everyone), at most as long as a message
    /// may wait in memory.</summary>
    private async Task WaitForVerdictAsync(TimeSpan maxWait, CancellationToken cancellationToken)
    {
        try
        {
            await pace.Verdict.WaitAsync(maxWait, time, cancellationToken);
        }
        catch (TimeoutException)
        {
            throw Paused();
        }
    }

    /// <summary>Retry-After (seconds or date), else RateLimit-Reset / X-RateLimit-Reset, else exponential backoff (then
    /// the pause is our guess, not Upflow's word, and says nothing of its window); never more than
    /// <see cref="UpflowOptions.MaxRetryAfter"/>. A pause longer than a message may wait in memory sends the
    /// waiting messages back to the queue (<see cref="RateBudget.AcquireAsync(TimeSpan, UpflowLane, CancellationToken)"/>).</summary>
    private (TimeSpan Pause, bool Asked) ThrottlePause(HttpResponseMessage response, DateTimeOffset sentAt)
    {
        var asked = RetryAfterHeader.Read(response.Headers, time.GetUtcNow());
        TimeSpan pause;
        if (asked is { } wait)
            pause = wait;
        else
        {
            // A call sent before the last pause ended is one of that episode's, not another 429 in a row.
            var inARow = sentAt.UtcTicks >= Interlocked.Read(ref _lastPauseEndTicks)
                ? Interlocked.Increment(ref _throttledInARow)
                : Math.Max(1, Volatile.Read(ref _throttledInARow));
            pause = FirstThrottlePause * Math.Pow(2, Math.Min(inARow - 1, 10));
        }
        pause = pause < options.MaxRetryAfter ? pause : options.MaxRetryAfter;
        Interlocked.Exchange(ref _lastPauseEndTicks, Math.Max(Interlocked.Read(ref _lastPauseEndTicks), (time.GetUtcNow() + pause).UtcTicks));
        return (pause, asked is not null);
    }
}
