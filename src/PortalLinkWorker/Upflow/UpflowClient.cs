using System.Buffers;
using System.Net;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Options;
using Polly.Timeout;
using PortalLinkContracts;
using PortalLinkWorker.Input;

namespace PortalLinkWorker.Upflow;

/// <summary>The typed client for Upflow's <c>POST /customers/{customerId}/portal</c>. Retries, timeouts and the rate
/// budget live in the HttpClient's resilience pipeline (see <see cref="UpflowHttpClientRegistration"/>); this class turns
/// what is left after them into an <see cref="UpflowAnswer"/>. It reads a 2xx answer's link and tells
/// <see cref="UpflowPace"/> whether it could: an answer it cannot read pauses calls (a contract problem, not the
/// request's), and the request comes back as <see cref="UpflowAnswer.Paused"/>.</summary>
public sealed partial class UpflowClient(
    HttpClient http,
    IOptions<UpflowOptions> options,
    TimeProvider time,
    ILogger<UpflowClient> logger,
    UpflowPace pace)
{
    /// <summary>Upflow's answer is a small JSON object; anything bigger is not an answer we understand. The pipeline's
    /// <see cref="BoundedAnswerHandler"/> enforces it on the wire; the client bounds its own read too.</summary>
    private const int MaxResponseBytes = BoundedAnswerHandler.MaxAnswerBytes;

    /// <summary>How much of an error body to quote in a failure message.</summary>
    private const int MaxQuotedErrorLength = 300;

    /// <summary>Carries the request id to the pipeline, which counts failures per message to tell an outage from one
    /// customer's trouble.</summary>
    public static readonly HttpRequestOptionsKey<Guid> RequestIdOption = new("PortalLinkWorker.RequestId");

    /// <summary>Carries the message's <see cref="DeferredCancellation"/> to the pipeline, which holds it while a call is
    /// out and keeps holding it when Upflow answers, until the caller has saved the answer.</summary>
    public static readonly HttpRequestOptionsKey<DeferredCancellation> CancellationOption = new("PortalLinkWorker.Cancellation");

    /// <summary>Carries the request's lane to the pipeline: live requests go before campaign ones.</summary>
    public static readonly HttpRequestOptionsKey<UpflowLane> LaneOption = new("PortalLinkWorker.Lane");

    private static readonly JsonSerializerOptions BodyJson = new()
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>Asks Upflow for a link.</summary>
    public Task<UpflowAnswer> CreatePortalLinkAsync(
        Guid requestId, string customerId, int expiresIn, string? frameAncestors, CancellationToken cancellationToken) =>
        CreatePortalLinkAsync(requestId, customerId, expiresIn, frameAncestors, UpflowLane.Live, cancellationToken, null);

    /// <inheritdoc cref="CreatePortalLinkAsync(Guid, string, int, string?, CancellationToken)"/>
    public Task<UpflowAnswer> CreatePortalLinkAsync(Guid requestId, string customerId, int expiresIn,
        string? frameAncestors, UpflowLane lane, CancellationToken cancellationToken) =>
        CreatePortalLinkAsync(requestId, customerId, expiresIn, frameAncestors, lane, cancellationToken, null);

    /// <summary>As above, on <paramref name="cancellation"/>'s token: an answer Upflow has given is read in full, and the
    /// token stays uncancelled until the caller disposes <paramref name="cancellation"/> (after saving the answer).</summary>
    public Task<UpflowAnswer> CreatePortalLinkAsync(Guid requestId, string customerId, int expiresIn,
        string? frameAncestors, UpflowLane lane, DeferredCancellation cancellation) =>
        CreatePortalLinkAsync(requestId, customerId, expiresIn, frameAncestors, lane, cancellation.Token, cancellation);

    private async Task<UpflowAnswer> CreatePortalLinkAsync(Guid requestId, string customerId, int expiresIn,
        string? frameAncestors, UpflowLane lane, CancellationToken cancellationToken, DeferredCancellation? cancellation)
    {
        var calledAt = time.GetUtcNow();
        var body = JsonSerializer.SerializeToUtf8Bytes(
            new PortalRequestBody(expiresIn, string.IsNullOrEmpty(frameAncestors) ? null : frameAncestors), BodyJson);
        using var request = new HttpRequestMessage(HttpMethod.Post, UpflowCustomerPath.PortalPath(customerId))
        {
            // Bytes, not a stream: the retry pipeline sends the same request again.
            Content = new ByteArrayContent(body) { Headers = { ContentType = new("application/json") } },
        };
        request.Options.Set(RequestIdOption, requestId);
        request.Options.Set(LaneOption, lane);
        if (cancellation is not null)
            request.Options.Set(CancellationOption, cancellation);

        HttpResponseMessage response;
        try
        {
            response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        }
        catch (UpflowPausedException paused)
        {
            return new UpflowAnswer.Paused(paused.Message, paused.Until);
        }
        // An HttpClient or Polly timeout is a transient Upflow failure, not a cancellation of the message: only the
        // consumer's own token means "stop" (and then the message goes back to the queue).
        catch (Exception e) when (!cancellationToken.IsCancellationRequested &&
                                  e is HttpRequestException or TimeoutRejectedException or OperationCanceledException)
        {
            LogUnreachable(logger, e.GetType().Name);
            return new UpflowAnswer.Unavailable(
                $"Upflow could not be reached within {options.Value.TotalTimeout.TotalSeconds:0.#} s ({Describe(e)}).", null, calledAt);
        }

        using (response)
        {
            var status = (int)response.StatusCode;
            var reported = false;
            try
            {
                if (response.Content is BoundedAnswerHandler.OversizedContent)
                {
                    if (!response.IsSuccessStatusCode)
                        return Classify(response.StatusCode, status, null, calledAt);
                    reported = true;
                    return Unreadable(status, PortalAnswerReader.Oversized(MaxResponseBytes));
                }
                // A pooled buffer: a new 64 KB array per call was most of what the worker allocated per link.
                var buffer = ArrayPool<byte>.Shared.Rent(MaxResponseBytes);
                try
                {
                    var answer = await ReadBoundedAsync(response.Content, buffer.AsMemory(0, MaxResponseBytes), cancellationToken);
                    if (!response.IsSuccessStatusCode)
                        return Classify(response.StatusCode, status, QuoteError(answer), calledAt);
                    var reading = PortalAnswerReader.Read(answer, response.Content.Headers.ContentType?.MediaType,
                        options.Value.UrlField, options.Value.PortalUrls);
                    reported = true;
                    return ReadIssued(reading, status, expiresIn, calledAt);
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                }
            }
            finally
            {
                // A 2xx's verdict (link read or not) is this client's to give; a half-open trial must not stay out
                // without one, or no other request could ever try.
                if (!reported && response.IsSuccessStatusCode)
                    pace.AbandonTrial();
            }
        }
    }

    /// <summary>A 401/403 never reaches here: <see cref="UpflowCallGate"/> pauses on it, for every request.</summary>
    private static UpflowAnswer Classify(HttpStatusCode code, int status, string? upflowMessage, DateTimeOffset calledAt)
    {
        var said = upflowMessage is null ? "" : $": {upflowMessage}";
        return code switch
        {
            // Redirects are not followed (the API key and secret would go along): not an answer we can use, and retrying
            // gets the same. Neither the Location nor the body is quoted: they name a place we refuse to go.
            >= HttpStatusCode.MultipleChoices and < HttpStatusCode.BadRequest => new UpflowAnswer.Refused(PortalLinkFailureReason.Rejected,
                $"Upflow answered {status}, a redirect; the worker follows no redirect (the API key would go with it), so no link was issued", status),
            HttpStatusCode.NotFound => new UpflowAnswer.Refused(PortalLinkFailureReason.CustomerNotFound,
                $"Upflow has no customer with this id (404){said}", status),
            HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests or >= HttpStatusCode.InternalServerError =>
                new UpflowAnswer.Unavailable($"Upflow kept answering {status} until the retries ran out{said}", status, calledAt),
            _ => new UpflowAnswer.Refused(PortalLinkFailureReason.Rejected, $"Upflow rejected the request ({status}){said}", status),
        };
    }

    private UpflowAnswer ReadIssued(PortalAnswerReader.Reading reading, int status, int expiresIn, DateTimeOffset calledAt)
    {
        switch (reading)
        {
            case PortalAnswerReader.Reading.Link link:
                pace.ReportLinkRead();
                return new UpflowAnswer.Issued(link.Url, link.ExpiresAt ?? calledAt.AddSeconds(expiresIn), calledAt);
            case PortalAnswerReader.Reading.Unreadable unreadable:
                return Unreadable(status, unreadable);
            default:
                throw new InvalidOperationException($"Unknown reading {reading.GetType().Name}.");
        }
    }

    /// <summary>Upflow issued something we cannot read: every request would get the same, each after Upflow issued a link
    /// nobody can use, so calls pause (the URL is not stored or published, the message waits in the queue).</summary>
    private UpflowAnswer.Paused Unreadable(int status, PortalAnswerReader.Reading.Unreadable reading)
    {
        var answer = new UnreadableAnswer(status, reading.Problem, reading.Received);
        pace.ReportAnswerUnreadable(answer);
        // The shape is in the one line UpflowAvailability logs when it pauses, not repeated for every message handed back.
        return new UpflowAnswer.Paused("no portal URL could be read from Upflow's answer", null);
    }

    /// <summary>Reads the body into <paramref name="buffer"/>, at most its length (a longer body is cut and then fails to
    /// parse), and returns the part read.</summary>
    private static async Task<ReadOnlyMemory<byte>> ReadBoundedAsync(
        HttpContent content, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        await using var stream = await content.ReadAsStreamAsync(cancellationToken);
        var total = 0;
        int read;
        while (total < buffer.Length && (read = await stream.ReadAsync(buffer[total..], cancellationToken)) > 0)
            total += read;
        return buffer[..total];
    }

    /// <summary>Quotes Upflow's own <c>message</c> (or <c>error</c>) from an error body, cleaned and bounded.</summary>
    private static string? QuoteError(ReadOnlyMemory<byte> body)
    {
        using var document = PortalAnswerReader.ParseOrNull(body);
        if (document?.RootElement is not { ValueKind: JsonValueKind.Object } root)
            return null;
        foreach (var name in (ReadOnlySpan<string>)["message", "error"])
            if (root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String)
            {
                // An error message could name a portal URL, which is a bearer credential: masked first, on the text as it
                // came (a URL ends at white space or a control character either way).
                var masked = UrlPattern().Replace(value.GetString()!, "[url]");
                // Cc, Cf, Zl and Zp: line breaks, U+2028/U+2029 and bidi controls would forge or reorder log lines.
                return UntrustedText.Clean(masked, MaxQuotedErrorLength);
            }
        return null;
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"https?://\S+", System.Text.RegularExpressions.RegexOptions.IgnoreCase)]
    private static partial System.Text.RegularExpressions.Regex UrlPattern();

    private static string Describe(Exception e) => e switch
    {
        TimeoutRejectedException or OperationCanceledException => "timed out",
        HttpRequestException { HttpRequestError: var error } => $"connection error: {error}",
        _ => e.GetType().Name,
    };

    private sealed record PortalRequestBody(
        [property: JsonPropertyName("expiresIn")] int ExpiresIn,
        [property: JsonPropertyName("frameAncestors")] string? FrameAncestors);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Upflow could not be reached before the retries ran out ({Error})")]
    private static partial void LogUnreachable(ILogger logger, string error);
}
