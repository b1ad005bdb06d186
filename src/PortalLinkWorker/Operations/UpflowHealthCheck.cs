using System.Globalization;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using PortalLinkWorker.Upflow;

namespace PortalLinkWorker.Operations;

/// <summary>
/// Whether Upflow calls can make progress. Refused credentials, an answer without a readable portal URL and an outage
/// are <see cref="HealthStatus.Unhealthy"/>: nothing moves until an operator fixes the key or the URL field, or until
/// Upflow is back. A 429 pause is
/// <see cref="HealthStatus.Degraded"/> (still ready, HTTP 200): it ends by itself within <c>Upflow:MaxRetryAfter</c> and
/// is the worker doing its job at Upflow's limit; taking every replica out of service for it would only stall rollouts.
/// </summary>
public sealed class UpflowHealthCheck(UpflowPace pace, IOptions<UpflowOptions> options, TimeProvider time) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var state = pace.State;
        var since = state.PausedSince is { } at ? $" since {at.ToString("O", CultureInfo.InvariantCulture)}" : "";
        var trial = state.HalfOpen ? "; one queued request is trying now" : "";
        var result = state.Phase switch
        {
            UpflowPhase.CredentialsRefused => HealthCheckResult.Unhealthy(
                $"paused: Upflow refused the API key pair (401/403){since}; set Upflow:ApiKey and Upflow:ApiSecret; one queued " +
                $"request tries them every {options.Value.CredentialsProbeInterval.TotalSeconds:0.#} s{trial}"),
            UpflowPhase.AnswerUnreadable => HealthCheckResult.Unhealthy(
                $"paused: no portal URL could be read from Upflow's answer{since} ({state.Unreadable}); if Upflow renamed the " +
                $"field set Upflow:UrlField, if its portal moved add the host to Upflow:PortalHosts; one queued request tries every " +
                $"{options.Value.UnreadableAnswerProbeInterval.TotalSeconds:0.#} s{trial}"),
            UpflowPhase.Outage => HealthCheckResult.Unhealthy(
                $"paused: Upflow is not answering (outage){since}; one queued request tries every " +
                $"{options.Value.OutageProbeInterval.TotalSeconds:0.#} s{trial}"),
            UpflowPhase.RateLimited => HealthCheckResult.Degraded(
                $"waiting: Upflow answered 429; calls resume at {state.PausedUntil!.Value.ToString("O", CultureInfo.InvariantCulture)} " +
                $"(in {(state.PausedUntil.Value - time.GetUtcNow()).TotalSeconds:0.#} s); rate {state.Rate:0.##}/s"),
            _ => HealthCheckResult.Healthy(options.Value.MaxRequestsPerSecond > 0
                ? $"calling Upflow at up to {state.Rate:0.##}/s"
                : "calling Upflow (no rate budget)"),
        };
        return Task.FromResult(result);
    }
}
