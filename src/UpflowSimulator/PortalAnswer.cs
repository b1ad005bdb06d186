using System.Text.Json.Nodes;

namespace UpflowSimulator;

/// <summary>A status code, a JSON body and, for 429, the seconds to put in <c>Retry-After</c>.</summary>
internal sealed record PortalAnswer(int Status, JsonObject Body, int? RetryAfterSeconds = null)
{
    public static PortalAnswer Message(int status, string message, int? retryAfterSeconds = null) =>
        new(status, new JsonObject { ["message"] = message }, retryAfterSeconds);

    public Task WriteAsync(HttpResponse response, CancellationToken cancellationToken)
    {
        response.StatusCode = Status;
        if (RetryAfterSeconds is { } seconds)
        {
            response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        return response.WriteAsJsonAsync(Body, cancellationToken);
    }
}
