using System.Net;
using System.Text;
using Microsoft.Extensions.Options;

namespace PortalLinkWorker.Upflow;

/// <summary>
/// While Upflow calls are paused for an outage or for refused credentials, asks Upflow at intervals whether it answers
/// again, and resumes when it does. The probe asks for a link for a customer id nobody has: a 404 (or any answer that is
/// not a 5xx, a timeout or a 401/403) means Upflow is up and takes our credentials, and no link is created.
/// </summary>
public sealed partial class UpflowProbe(
    IHttpClientFactory clients,
    UpflowAvailability availability,
    IOptions<UpflowOptions> options,
    TimeProvider time,
    ILogger<UpflowProbe> logger) : BackgroundService
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
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            var pause = availability.Pause;
            var interval = pause == UpflowPause.Credentials ? options.Value.CredentialsProbeInterval : options.Value.OutageProbeInterval;
            try
            {
                await Task.Delay(interval, time, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            if (availability.Pause == UpflowPause.None)
                continue;
            switch (await ProbeAsync(stoppingToken))
            {
                case Answer.Up:
                    availability.Resume();
                    break;
                case Answer.CredentialsRejected:
                    availability.ReportCredentialsRejected((int)HttpStatusCode.Unauthorized);
                    break;
                default:
                    LogStillDown(logger);
                    break;
            }
        }
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
                _ => Answer.Up,
            };
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested && e is HttpRequestException or OperationCanceledException or Polly.Timeout.TimeoutRejectedException)
        {
            return Answer.Down;
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Upflow probe: still down")]
    private static partial void LogStillDown(ILogger logger);
}
