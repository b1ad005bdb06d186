using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Features;

namespace UpflowSimulator;

/// <summary>What a portal call asked for, with the first problem found in its customer id and in its body.</summary>
internal sealed class PortalRequest
{
    public const int DefaultExpiresIn = 86_400;
    public const int MaxExpiresIn = 86_400_000;
    private const int MaxBodyBytes = 64 * 1024;
    private const string ExternalPrefix = "external:";

    private PortalRequest(string customerId, string? customerIdError)
    {
        CustomerId = customerId;
        CustomerIdError = customerIdError;
    }

    /// <summary>The customer id, percent-decoded once.</summary>
    public string CustomerId { get; }

    public string? CustomerIdError { get; }

    public int? ExpiresIn { get; private set; }

    public string? FrameAncestors { get; private set; }

    public bool BodyHadFrameAncestors { get; private set; }

    public int? BodyErrorStatus { get; private set; }

    public string? BodyErrorMessage { get; private set; }

    /// <summary>
    /// Takes the id from the raw request target: the routing value has already been unescaped
    /// except for <c>%2F</c>, so decoding it again would be wrong for ids holding a literal <c>%</c>.
    /// </summary>
    public static PortalRequest FromRawTarget(HttpContext context)
    {
        var rawTarget = context.Features.Get<IHttpRequestFeature>()!.RawTarget;
        var rawSegment = RawCustomerSegment(rawTarget);
        if (rawSegment is null)
        {
            return new PortalRequest(string.Empty, "The request target has no /customers/{customerId}/portal segment");
        }

        var customerId = Uri.UnescapeDataString(rawSegment);
        return new PortalRequest(customerId, ValidateCustomerId(customerId));
    }

    public async Task ReadBodyAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[8192];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, cancellationToken)) > 0)
        {
            buffer.Write(chunk, 0, read);
            if (buffer.Length > MaxBodyBytes)
            {
                Fail(StatusCodes.Status413PayloadTooLarge, $"The body must not exceed {MaxBodyBytes} bytes");
                return;
            }
        }

        if (buffer.Length == 0)
        {
            return;
        }

        if (!IsJsonContentType(request.ContentType))
        {
            Fail(StatusCodes.Status415UnsupportedMediaType, "Content-Type must be application/json");
            return;
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(buffer.ToArray());
        }
        catch (JsonException)
        {
            Fail(StatusCodes.Status400BadRequest, "The body must be a JSON object");
            return;
        }

        using (document)
        {
            ReadFields(document.RootElement);
        }
    }

    private void ReadFields(JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            Fail(StatusCodes.Status400BadRequest, "The body must be a JSON object");
            return;
        }

        if (root.TryGetProperty("expiresIn", out var expiresIn))
        {
            if (expiresIn.ValueKind == JsonValueKind.Number && expiresIn.TryGetInt32(out var seconds) && seconds is >= 1 and <= MaxExpiresIn)
            {
                ExpiresIn = seconds;
            }
            else
            {
                Fail(StatusCodes.Status422UnprocessableEntity, $"expiresIn must be an integer number of seconds from 1 to {MaxExpiresIn}");
            }
        }

        if (root.TryGetProperty("frameAncestors", out var frameAncestors))
        {
            BodyHadFrameAncestors = true;
            FrameAncestors = frameAncestors.ValueKind == JsonValueKind.String ? frameAncestors.GetString() : null;
            if (FrameAncestors is null || !HostNames.IsSpaceSeparatedList(FrameAncestors))
            {
                Fail(StatusCodes.Status422UnprocessableEntity, "frameAncestors must be host names separated by single spaces");
            }
        }
    }

    private void Fail(int status, string message)
    {
        // The first problem found is the one answered.
        if (BodyErrorStatus is null)
        {
            BodyErrorStatus = status;
            BodyErrorMessage = message;
        }
    }

    private static string? RawCustomerSegment(string rawTarget)
    {
        var query = rawTarget.IndexOf('?', StringComparison.Ordinal);
        var path = query >= 0 ? rawTarget[..query] : rawTarget;
        const string marker = "/customers/";
        var start = path.IndexOf(marker, StringComparison.OrdinalIgnoreCase);
        if (start < 0)
        {
            return null;
        }

        start += marker.Length;
        var end = path.IndexOf('/', start);
        return end < 0 ? null : path[start..end];
    }

    private static string? ValidateCustomerId(string customerId)
    {
        if (Guid.TryParseExact(customerId, "D", out _))
        {
            return null;
        }

        if (customerId.StartsWith(ExternalPrefix, StringComparison.Ordinal)
            && customerId.Length > ExternalPrefix.Length
            && !customerId.Any(char.IsControl))
        {
            return null;
        }

        return "customerId must be an Upflow UUID or external:<id> with a non-empty id without control characters";
    }

    private static bool IsJsonContentType(string? contentType) =>
        MediaTypeHeaderValue.TryParse(contentType, out var mediaType)
        && string.Equals(mediaType.MediaType, "application/json", StringComparison.OrdinalIgnoreCase);
}
