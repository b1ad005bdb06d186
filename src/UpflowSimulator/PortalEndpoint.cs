using System.Buffers.Text;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json.Nodes;

namespace UpflowSimulator;

/// <summary>Answers <c>POST /v1/customers/{customerId}/portal</c> the way Upflow would, plus the configured faults.</summary>
internal sealed class PortalEndpoint(
    SimulatorState state,
    CallLog calls,
    IHostApplicationLifetime lifetime,
    ILogger<PortalEndpoint> logger)
{
    private const string PortalBaseUrl = "https://portal.upflow-simulator.invalid/p/";
    private const string SimStatusPrefix = "external:sim-status-";
    private const string SimFailPrefix = "external:sim-fail-";

    /// <summary>Status recorded when the caller disconnects, or the simulator stops, before the answer.</summary>
    private const int ClientClosedRequest = 499;

    /// <summary>What a 429 of the in-flight cap asks for: the simulator cannot know when a call in flight will end.</summary>
    private static readonly TimeSpan InFlightRetryAfter = TimeSpan.FromSeconds(1);

    private static readonly TimeSpan SimulatedStatusRetryAfter = TimeSpan.FromSeconds(1);

    public async Task HandleAsync(HttpContext context)
    {
        var options = state.Options;
        var (slowDraw, errorDraw) = state.Draw();
        var arrivedAt = state.TimeProvider.GetUtcNow();
        var entered = state.TryEnterRequest(options.MaxConcurrentRequests);
        // The rate limiter counts a call when it arrives, as a gateway's does, before the work the latency stands for,
        // and refuses at once: counted after the latency, the simulator's own timer jitter on a busy machine (calls sent
        // 50 ms apart counted in one millisecond) moved calls between one-second windows that the caller had kept apart.
        var throttled = entered ? Throttle(context.Request, options) : null;
        using var cancellation = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, lifetime.ApplicationStopping);
        var token = cancellation.Token;
        var request = PortalRequest.FromRawTarget(context);
        try
        {
            await request.ReadBodyAsync(context.Request, token);
            if (options.LatencyMs > 0 && throttled is null)
            {
                await Task.Delay(options.LatencyMs, token);
            }

            if (slowDraw < options.SlowRate && options.SlowMs > 0 && throttled is null)
            {
                await Task.Delay(options.SlowMs, token);
            }

            var answer = entered
                ? throttled ?? Decide(context.Request, request, options, errorDraw)
                : PortalAnswer.Message(StatusCodes.Status429TooManyRequests, $"Too many concurrent requests (limit {options.MaxConcurrentRequests})", InFlightRetryAfter);
            // Recorded before writing so a caller that reads /_simulator/calls right after the answer sees the call.
            Record(request, answer.Status, arrivedAt);
            await answer.WriteAsync(context.Response, options.RetryAfterFormat, state.TimeProvider.GetUtcNow(), CancellationToken.None);
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            Record(request, ClientClosedRequest, arrivedAt);
            context.Abort();
        }
        finally
        {
            state.ExitRequest(entered);
        }
    }

    /// <summary>The account's rate limit, for a call with the account's credentials (others are not counted); null when
    /// the call is admitted.</summary>
    private PortalAnswer? Throttle(HttpRequest http, SimulatorOptions options) =>
        Authorized(http, options) && !state.TryAdmitRate(out var retryAfter)
            ? PortalAnswer.Message(StatusCodes.Status429TooManyRequests, $"Rate limit of {options.RateLimitPerSecond} requests per second ({options.RateLimitShape}) exceeded", retryAfter)
            : null;

    private static bool Authorized(HttpRequest http, SimulatorOptions options) =>
        string.Equals((string?)http.Headers["X-Api-Key"], options.ApiKey, StringComparison.Ordinal)
        && string.Equals((string?)http.Headers["X-Api-Secret"], options.ApiSecret, StringComparison.Ordinal);

    private PortalAnswer Decide(HttpRequest http, PortalRequest request, SimulatorOptions options, double errorDraw)
    {
        if (!Authorized(http, options))
        {
            return PortalAnswer.Message(StatusCodes.Status401Unauthorized, "Invalid or missing X-Api-Key / X-Api-Secret");
        }

        if (request.CustomerIdError is { } idError)
        {
            return PortalAnswer.Message(StatusCodes.Status400BadRequest, idError);
        }

        var customerId = request.CustomerId;
        if (NumberAfter(customerId, SimStatusPrefix) is { } status and >= 400 and <= 599)
        {
            return PortalAnswer.Message(status, $"Simulated status {status} for {customerId}", status == StatusCodes.Status429TooManyRequests ? SimulatedStatusRetryAfter : null);
        }

        if (request.BodyErrorStatus is { } bodyStatus)
        {
            return PortalAnswer.Message(bodyStatus, request.BodyErrorMessage!);
        }

        if (options.UnknownCustomerPrefixes.Any(prefix => customerId.StartsWith(prefix, StringComparison.OrdinalIgnoreCase)))
        {
            return PortalAnswer.Message(StatusCodes.Status404NotFound, "Customer not found");
        }

        if (NumberAfter(customerId, SimFailPrefix) is { } failures && state.CountFailCandidate(customerId) is var call && call <= failures)
        {
            return PortalAnswer.Message(StatusCodes.Status503ServiceUnavailable, $"Simulated failure {call} of {failures} for {customerId}");
        }

        if (errorDraw < options.ErrorRate)
        {
            return PortalAnswer.Message(StatusCodes.Status503ServiceUnavailable, "Simulated random server error");
        }

        return Success(request, options);
    }

    private PortalAnswer Success(PortalRequest request, SimulatorOptions options)
    {
        var url = PortalBaseUrl + Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));
        var body = options.OmitUrl
            ? new JsonObject { ["link"] = url, ["id"] = Guid.NewGuid().ToString() }
            : new JsonObject { [options.UrlField] = url };
        if (options.IncludeExpiresAt)
        {
            var expiresAt = state.TimeProvider.GetUtcNow().AddSeconds(request.ExpiresIn ?? PortalRequest.DefaultExpiresIn);
            body["expiresAt"] = expiresAt.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
        }

        return new PortalAnswer(StatusCodes.Status200OK, body);
    }

    private void Record(PortalRequest request, int status, DateTimeOffset arrivedAt)
    {
        calls.Add(new CallRecord(
            request.CustomerId,
            request.ExpiresIn,
            request.FrameAncestors,
            status,
            arrivedAt,
            request.BodyHadFrameAncestors));
        logger.LogDebug("Portal call for {CustomerId} answered {Status}", request.CustomerId, status);
    }

    /// <summary>Reads the number in ids shaped <c>prefix&lt;n&gt;</c> or <c>prefix&lt;n&gt;-anything</c>.</summary>
    private static int? NumberAfter(string customerId, string prefix)
    {
        if (!customerId.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        var rest = customerId.AsSpan(prefix.Length);
        var dash = rest.IndexOf('-');
        var digits = dash < 0 ? rest : rest[..dash];
        return digits.Length is > 0 and <= 9 && int.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : null;
    }
}
