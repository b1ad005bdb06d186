using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http;

namespace PortalLinkWorker.Operations;

/// <summary>
/// What guards the status page and <c>/status.json</c>, which show recent customer and request ids and campaign names:
/// the optional bearer token (<c>Operations:StatusToken</c>), and the headers that keep another site from framing the
/// page, sniffing a JSON answer into a script, or running anything but the page's own inline script and styles (their
/// SHA-256 hashes are computed from the embedded page, so the policy follows the file).
/// </summary>
public static partial class StatusPageSecurity
{
    /// <summary>The page's Content-Security-Policy: nothing but its own inline script and style, and <c>status.json</c>.</summary>
    public static readonly string ContentSecurityPolicy = BuildPolicy();

    /// <summary>For every operations answer: no MIME sniffing, no referrer, never framed.</summary>
    public static void AddHeaders(HttpResponse response, bool page)
    {
        response.Headers.XContentTypeOptions = "nosniff";
        response.Headers["Referrer-Policy"] = "no-referrer";
        response.Headers.XFrameOptions = "DENY";
        response.Headers.ContentSecurityPolicy = page ? ContentSecurityPolicy : "default-src 'none'; frame-ancestors 'none'";
    }

    /// <summary>True when no token is configured, or the request carries it (compared in constant time).</summary>
    public static bool IsAuthorized(HttpRequest request, string? token)
    {
        if (string.IsNullOrEmpty(token))
            return true;
        var header = request.Headers.Authorization.ToString();
        const string Scheme = "Bearer ";
        if (!header.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase))
            return false;
        return CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(header[Scheme.Length..].Trim()), Encoding.UTF8.GetBytes(token));
    }

    private static string BuildPolicy()
    {
        using var stream = StatusPage.Open();
        using var reader = new StreamReader(stream, Encoding.UTF8);
        var html = reader.ReadToEnd();
        static string Hashes(Regex block, string html) => string.Join(' ', block.Matches(html)
            .Select(m => $"'sha256-{Convert.ToBase64String(SHA256.HashData(Encoding.UTF8.GetBytes(m.Groups[1].Value)))}'"));
        return $"default-src 'none'; script-src {Hashes(ScriptBlock(), html)}; style-src {Hashes(StyleBlock(), html)}; " +
               "connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
    }

    [GeneratedRegex("<script>(.*?)</script>", RegexOptions.Singleline)]
    private static partial Regex ScriptBlock();

    [GeneratedRegex("<style>(.*?)</style>", RegexOptions.Singleline)]
    private static partial Regex StyleBlock();
}
