using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;

namespace PortalLinkWorker.Upflow;

/// <summary>
/// What <c>check-config</c> asks Upflow, only when an operator runs it; the worker itself never calls it (while calls are
/// paused a real queued request is the trial, see <see cref="UpflowAvailability"/>).
/// <list type="bullet">
/// <item><see cref="ReachAsync"/>: a GET of the base URL, which creates nothing: DNS, TLS and an HTTP answer. It cannot
/// prove the key pair (a 401/403 proves it wrong; anything else proves nothing).</item>
/// <item><see cref="CallAsync"/> (<c>check-config --upflow-call &lt;customerId&gt;</c>): one real
/// <c>POST /customers/{id}/portal</c> for a customer the operator names, read exactly as the worker reads it: what came
/// back (status, field names and kinds), the URL masked, the expiry as the worker would store it. Upflow issues a real
/// link with it (for <see cref="CallExpiresIn"/> seconds by default); it is shown masked and stored nowhere.</item>
/// </list>
/// Neither goes through the shared rate budget or the fleet's call slots: one call by hand.
/// </summary>
public sealed class UpflowContractCheck(IHttpClientFactory clients, IOptions<UpflowOptions> options, TimeProvider time)
{
    public const string ClientName = "upflow-check";

    /// <summary>Upflow's sandbox API: <c>--upflow-call</c> goes there unless told to use <c>Upflow:BaseUrl</c>.</summary>
    public static readonly Uri SandboxBaseUrl = new("https://api.sandbox.upflow.io/v1");

    /// <summary>The lifetime asked for a link made by hand: short, since nobody will use it.</summary>
    public const int CallExpiresIn = 60;

    /// <summary>The outcome of <see cref="ReachAsync"/>.</summary>
    public enum Reach
    {
        /// <summary>Upflow answered the GET (any status but those below): reachable; the key pair is not proven.</summary>
        Answers,
        CredentialsRejected,

        /// <summary>A 3xx: Upflow's API does not redirect, and the client follows no redirect (the key would go along),
        /// so <c>Upflow:BaseUrl</c> points somewhere else.</summary>
        Redirected,
        Down,
    }

    public async Task<(Reach Reach, int? Status)> ReachAsync(CancellationToken cancellationToken)
    {
        var http = clients.CreateClient(ClientName);
        using var request = new HttpRequestMessage(HttpMethod.Get, "");
        try
        {
            using var response = await http.SendAsync(request, cancellationToken);
            var status = (int)response.StatusCode;
            return (response.StatusCode switch
            {
                HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden => Reach.CredentialsRejected,
                >= HttpStatusCode.InternalServerError => Reach.Down,
                >= HttpStatusCode.MultipleChoices and < HttpStatusCode.BadRequest => Reach.Redirected,
                _ => Reach.Answers,
            }, status);
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested && IsUnreachable(e))
        {
            return (Reach.Down, null);
        }
    }

    /// <summary>One real call for <paramref name="customerId"/> against <paramref name="baseUrl"/> (the sandbox, or
    /// <c>Upflow:BaseUrl</c>), with the configured key pair. Never throws for what Upflow answers.</summary>
    public async Task<CallReport> CallAsync(Uri baseUrl, string customerId, int expiresIn, CancellationToken cancellationToken)
    {
        var http = clients.CreateClient(ClientName);
        var target = new Uri(baseUrl.AbsoluteUri.TrimEnd('/') + "/" + UpflowCustomerPath.PortalPath(customerId));
        using var request = new HttpRequestMessage(HttpMethod.Post, target)
        {
            Content = new StringContent($$"""{"expiresIn":{{expiresIn}}}""", Encoding.UTF8, "application/json"),
        };
        var calledAt = time.GetUtcNow();
        HttpResponseMessage response;
        try
        {
            response = await http.SendAsync(request, cancellationToken);
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested && IsUnreachable(e))
        {
            return new CallReport(target, null, null, "no answer", $"{e.GetType().Name} (timeout or connection error)", null, null);
        }
        using (response)
        {
            var status = (int)response.StatusCode;
            var mediaType = response.Content.Headers.ContentType?.MediaType;
            if (response.Content is BoundedAnswerHandler.OversizedContent)
                return new CallReport(target, status, mediaType, "a body too large to read",
                    response.IsSuccessStatusCode ? PortalAnswerReader.Oversized(BoundedAnswerHandler.MaxAnswerBytes).Problem : Verdict(response.StatusCode), null, null);
            var body = await response.Content.ReadAsByteArrayAsync(cancellationToken);
            var received = PortalAnswerReader.Describe(body, mediaType);
            if (!response.IsSuccessStatusCode)
                return new CallReport(target, status, mediaType, received, Verdict(response.StatusCode), null, null);
            return PortalAnswerReader.Read(body, mediaType, options.Value.UrlField, options.Value.PortalUrls) switch
            {
                PortalAnswerReader.Reading.Link link => new CallReport(target, status, mediaType, received, null, Masked(link.Url),
                    link.ExpiresAt is { } at ? (at, "from Upflow's answer") : (calledAt.AddSeconds(expiresIn), "computed: call time + expiresIn")),
                PortalAnswerReader.Reading.Unreadable unreadable => new CallReport(target, status, mediaType, received,
                    $"no portal URL could be read: {unreadable.Problem}; the worker would pause on this answer", null, null),
                var other => throw new InvalidOperationException($"Unknown reading {other.GetType().Name}."),
            };
        }
    }

    /// <summary>Scheme and host, then only the length: the rest is the bearer token.</summary>
    public static string Masked(string url)
    {
        var uri = new Uri(url);
        return $"{uri.Scheme}://{uri.Host}/… ({url.Length} characters, the rest not shown)";
    }

    private static string Verdict(HttpStatusCode code) => code switch
    {
        HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden => "Upflow refused the API key pair (401/403): check Upflow:ApiKey and Upflow:ApiSecret",
        HttpStatusCode.NotFound => "Upflow has no customer with this id (404); the key pair was accepted",
        >= HttpStatusCode.MultipleChoices and < HttpStatusCode.BadRequest => "a redirect (3xx), which the worker never follows: check the base URL",
        HttpStatusCode.TooManyRequests => "rate limited (429): try again in a minute",
        >= HttpStatusCode.InternalServerError => "Upflow failed (5xx)",
        _ => $"Upflow rejected the request ({(int)code})",
    };

    private static bool IsUnreachable(Exception e) =>
        e is HttpRequestException or OperationCanceledException or Polly.Timeout.TimeoutRejectedException;
}

/// <summary>What <see cref="UpflowContractCheck.CallAsync"/> saw. <see cref="Problem"/> is null when a link was read;
/// then <see cref="MaskedUrl"/> and <see cref="Expiry"/> are set. Nothing here holds a value from the answer.</summary>
public sealed record CallReport(
    Uri Target,
    int? Status,
    string? MediaType,
    string Received,
    string? Problem,
    string? MaskedUrl,
    (DateTimeOffset At, string Source)? Expiry);
