using System.Text;
using System.Text.Json;
using PortalLinkWorker.Input;

namespace PortalLinkWorker.Upflow;

/// <summary>
/// Reads the portal URL (and an expiry, when one is there) out of the body of a 2xx answer, or says what came instead in
/// words that hold none of its values: field names and JSON value kinds only, since a value may be a live portal URL.
/// Pure: <see cref="UpflowClient"/> reports the result to <see cref="UpflowPace"/>.
/// </summary>
public static class PortalAnswerReader
{
    /// <summary>Fields named in a description of what came; an answer with more says how many more.</summary>
    private const int MaxFieldsNamed = 20;

    /// <summary>The longest field name quoted; a longer one is cut (the answer is untrusted).</summary>
    private const int MaxFieldNameLength = 40;

    /// <summary>The longest content type quoted.</summary>
    private const int MaxContentTypeLength = 60;

    /// <summary>What reading a 2xx answer came to: a closed set of cases.</summary>
    public abstract record Reading
    {
        private Reading() { }

        /// <summary>A URL the portal policy allows, in its normalised form, and Upflow's own expiry when it sent one.
        /// <see cref="Url"/> is a bearer credential: never log it.</summary>
        public sealed record Link(string Url, DateTimeOffset? ExpiresAt) : Reading;

        /// <summary>No URL could be read: <see cref="Problem"/> and <see cref="Received"/> as in <see cref="UnreadableAnswer"/>.</summary>
        public sealed record Unreadable(string Problem, string Received) : Reading;
    }

    /// <summary>Reads <paramref name="body"/> (a UTF-8 byte-order mark skipped). <paramref name="mediaType"/> is the answer's
    /// Content-Type media type, null when it sent none (then the body is tried as JSON); <paramref name="urlField"/> is
    /// <see cref="UpflowOptions.UrlField"/>.</summary>
    public static Reading Read(ReadOnlyMemory<byte> body, string? mediaType, string urlField, PortalUrlPolicy policy)
    {
        if (mediaType is not null && !IsJson(mediaType))
            return new Reading.Unreadable($"content type {Quote(mediaType, MaxContentTypeLength)}, not JSON",
                $"a body of {body.Length} bytes");
        using var document = ParseOrNull(body);
        if (document is null)
            return new Reading.Unreadable("a body that is not JSON", $"a body of {body.Length} bytes");
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
            return new Reading.Unreadable($"a JSON {KindOf(root.ValueKind)} instead of an object", $"a JSON {KindOf(root.ValueKind)}");

        // The shape is described only for an answer that fails: a string built per link costs every call.
        if (!root.TryGetProperty(urlField, out var urlElement))
            return new Reading.Unreadable($"no '{urlField}' field (Upflow:UrlField)", Shape(root));
        if (urlElement.ValueKind != JsonValueKind.String)
            return new Reading.Unreadable($"a '{urlField}' field holding {WithArticle(KindOf(urlElement.ValueKind))}, not a string", Shape(root));
        var verdict = policy.Check(urlElement.GetString(), out var normalised);
        if (verdict != PortalUrlPolicy.Verdict.Allowed)
            return new Reading.Unreadable($"a '{urlField}' that breaks the portal URL policy ({Describe(verdict)})", Shape(root));
        return new Reading.Link(normalised!, ReadExpiry(root));
    }

    /// <summary>What came, for a report: the JSON shape (names and kinds), or the size of a body that is not JSON.</summary>
    public static string Describe(ReadOnlyMemory<byte> body, string? mediaType)
    {
        using var document = mediaType is null || IsJson(mediaType) ? ParseOrNull(body) : null;
        return document is null ? $"a body of {body.Length} bytes, not JSON"
            : document.RootElement.ValueKind == JsonValueKind.Object ? Shape(document.RootElement)
            : $"a JSON {KindOf(document.RootElement.ValueKind)}";
    }

    /// <summary>What a body over the size bound is, unread.</summary>
    public static Reading.Unreadable Oversized(int maxBytes) =>
        new($"a body over {maxBytes / 1024} KB (not read)", "a body too large to read");

    /// <summary>"a JSON object with fields link (string), id (string)": names and kinds, never values.</summary>
    private static string Shape(JsonElement root)
    {
        var fields = root.EnumerateObject().ToList();
        if (fields.Count == 0)
            return "a JSON object with no fields";
        var named = string.Join(", ", fields.Take(MaxFieldsNamed).Select(f => $"{Quote(f.Name, MaxFieldNameLength)} ({KindOf(f.Value.ValueKind)})"));
        var more = fields.Count > MaxFieldsNamed ? $" and {fields.Count - MaxFieldsNamed} more" : "";
        return $"a JSON object with fields {named}{more}";
    }

    /// <summary>An untrusted name made safe for one log line: no control, format or separator character, no comma or
    /// parenthesis that would blur the list, bounded.</summary>
    private static string Quote(string name, int maxLength)
    {
        var clean = UntrustedText.Clean(name, maxLength);
        return clean.Length == 0 ? "\"\"" : clean.Replace(',', '?').Replace('(', '?').Replace(')', '?');
    }

    private static string KindOf(JsonValueKind kind) => kind switch
    {
        JsonValueKind.True or JsonValueKind.False => "boolean",
        _ => kind.ToString().ToLowerInvariant(),
    };

    private static string WithArticle(string kind) => kind[0] is 'a' or 'o' ? "an " + kind : "a " + kind;

    /// <summary><c>application/json</c>, <c>text/json</c> or any <c>+json</c> type (<c>application/problem+json</c>).</summary>
    private static bool IsJson(string mediaType) =>
        mediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase) ||
        mediaType.Equals("text/json", StringComparison.OrdinalIgnoreCase) ||
        mediaType.EndsWith("+json", StringComparison.OrdinalIgnoreCase);

    /// <summary>Upflow does not document an expiry field; when one of the usual names carries a date, it wins over our
    /// own computation.</summary>
    private static DateTimeOffset? ReadExpiry(JsonElement root)
    {
        foreach (var name in (ReadOnlySpan<string>)["expiresAt", "expires_at", "expirationDate"])
            if (root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String &&
                value.TryGetDateTimeOffset(out var at))
                return at.ToUniversalTime();
        return null;
    }

    /// <summary>The body as a JSON document (a UTF-8 byte-order mark skipped), or null when it is not JSON.</summary>
    internal static JsonDocument? ParseOrNull(ReadOnlyMemory<byte> body)
    {
        if (body.Span.StartsWith(Encoding.UTF8.Preamble))
            body = body[Encoding.UTF8.Preamble.Length..];
        try
        {
            return JsonDocument.Parse(body);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static string Describe(PortalUrlPolicy.Verdict verdict) => verdict switch
    {
        PortalUrlPolicy.Verdict.ControlCharacter => "a control character or white space inside",
        PortalUrlPolicy.Verdict.NotAbsolute => "not an absolute URL",
        PortalUrlPolicy.Verdict.NotHttps => "not https",
        PortalUrlPolicy.Verdict.UserInfo => "user information before the host",
        PortalUrlPolicy.Verdict.HostNotAllowed => "a host not in Upflow:PortalHosts",
        _ => verdict.ToString(),
    };
}
