using System.Globalization;
using System.Text.Json.Nodes;

namespace UpflowSimulator;

/// <summary>A status code, a JSON body and, for 429, how long the caller should wait, written as <c>Retry-After</c> in the configured format.</summary>
internal sealed record PortalAnswer(int Status, JsonObject Body, TimeSpan? RetryAfter = null)
{
    public static PortalAnswer Message(int status, string message, TimeSpan? retryAfter = null) =>
        new(status, new JsonObject { ["message"] = message }, retryAfter);

    public Task WriteAsync(HttpResponse response, RetryAfterFormat format, DateTimeOffset now, CancellationToken cancellationToken)
    {
        response.StatusCode = Status;
        if (RetryAfter is { } wait && RetryAfterValue(wait, format, now) is { } value)
        {
            response.Headers.RetryAfter = value;
        }

        return response.WriteAsJsonAsync(Body, cancellationToken);
    }

    /// <summary>
    /// The header value for a wait of <paramref name="wait"/> from <paramref name="now"/>, or null for <see cref="RetryAfterFormat.None"/>.
    /// Both forms round up, so a caller that honours the header never comes back before the limiter would admit it.
    /// </summary>
    public static string? RetryAfterValue(TimeSpan wait, RetryAfterFormat format, DateTimeOffset now) => format switch
    {
        RetryAfterFormat.Seconds => Math.Max(1, CeilingSeconds(wait.Ticks)).ToString(CultureInfo.InvariantCulture),
        RetryAfterFormat.HttpDate => new DateTimeOffset(CeilingSeconds((now + wait).UtcTicks) * TimeSpan.TicksPerSecond, TimeSpan.Zero)
            .ToString("R", CultureInfo.InvariantCulture),
        _ => null,
    };

    private static long CeilingSeconds(long ticks) => (ticks + TimeSpan.TicksPerSecond - 1) / TimeSpan.TicksPerSecond;
}
