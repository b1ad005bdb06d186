using System.Net;
using System.Text;

namespace PortalLinkWorker.Upflow;

/// <summary>
/// The one-off credentials check of <c>check-config</c>, made only when an operator runs it: asks for a link for a
/// customer id nobody has, so that a 404 (or any answer that is not a 5xx, a timeout or a 401/403) means Upflow is up and
/// takes our credentials, and no link is created. The worker itself never makes this call: while Upflow calls are
/// paused, a real queued request is the trial (<see cref="UpflowAvailability"/>).
/// </summary>
public sealed class UpflowProbe(IHttpClientFactory clients)
{
    public const string ClientName = "upflow-probe";

    /// <summary>Shortest lifetime Upflow accepts, in case the probe customer exists after all.</summary>
    private const int ProbeExpiresIn = 60;

    private const string ProbeCustomerId = "external:portal-link-worker-probe-0000";

    public enum Answer
    {
        Up,
        Down,
        CredentialsRejected,

        /// <summary>A 3xx: Upflow's API does not redirect, and the client follows no redirect (the key would go along),
        /// so <c>Upflow:BaseUrl</c> points somewhere else.</summary>
        Redirected,
    }

    public async Task<Answer> ProbeAsync(CancellationToken cancellationToken)
    {
        var http = clients.CreateClient(ClientName);
        using var request = new HttpRequestMessage(HttpMethod.Post, UpflowCustomerPath.PortalPath(ProbeCustomerId))
        {
            Content = new StringContent($$"""{"expiresIn":{{ProbeExpiresIn}}}""", Encoding.UTF8, "application/json"),
        };
        try
        {
            using var response = await http.SendAsync(request, cancellationToken);
            return response.StatusCode switch
            {
                HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden => Answer.CredentialsRejected,
                HttpStatusCode.RequestTimeout or >= HttpStatusCode.InternalServerError => Answer.Down,
                >= HttpStatusCode.MultipleChoices and < HttpStatusCode.BadRequest => Answer.Redirected,
                _ => Answer.Up,
            };
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested && e is HttpRequestException or OperationCanceledException or Polly.Timeout.TimeoutRejectedException)
        {
            return Answer.Down;
        }
    }
}
