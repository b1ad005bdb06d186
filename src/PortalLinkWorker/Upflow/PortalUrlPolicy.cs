using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using PortalLinkWorker.Input;

namespace PortalLinkWorker.Upflow;

/// <summary>
/// What a portal URL from Upflow must be before it is stored and published: it is a bearer credential for a customer's
/// invoices, so a URL that would send the customer (or the token) anywhere but Upflow's portal is refused. The rules:
/// https, no user information (<c>https://user:pw@…</c>), no control or format character and no white space anywhere
/// in the text (a CR/LF could split a header or a log line downstream), and a host allowed by
/// <see cref="UpflowOptions.PortalHosts"/>. What is kept is the normalised form (<see cref="Uri.AbsoluteUri"/>).
/// </summary>
public sealed class PortalUrlPolicy
{
    /// <summary>Separates the entries of <see cref="UpflowOptions.PortalHosts"/>.</summary>
    private const char HostSeparator = ',';

    /// <summary>An entry starting with this allows the subdomains of what follows.</summary>
    private const string SubdomainWildcard = "*.";

    /// <summary>The fewest labels after <see cref="SubdomainWildcard"/>: <c>*.io</c> would allow half the internet.</summary>
    private const int MinWildcardLabels = 2;

    private readonly HashSet<string> _hosts;
    private readonly string[] _parentDomains;

    private PortalUrlPolicy(HashSet<string> hosts, string[] parentDomains)
    {
        _hosts = hosts;
        _parentDomains = parentDomains;
    }

    /// <summary>Why a URL was refused; never the URL itself, which may be a live credential.</summary>
    public enum Verdict
    {
        Allowed,
        ControlCharacter,
        NotAbsolute,
        NotHttps,
        UserInfo,
        HostNotAllowed,
    }

    /// <summary>The policy for <paramref name="portalHosts"/> (see <see cref="UpflowOptions.PortalHosts"/>), or false
    /// when an entry is not a host name or a <c>*.</c> wildcard over one, or there is no entry at all.</summary>
    public static bool TryParse(string? portalHosts, [NotNullWhen(true)] out PortalUrlPolicy? policy)
    {
        policy = null;
        var hosts = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var parents = new List<string>();
        foreach (var raw in (portalHosts ?? "").Split(HostSeparator, StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var wildcard = raw.StartsWith(SubdomainWildcard, StringComparison.Ordinal);
            var name = Normalise(wildcard ? raw[SubdomainWildcard.Length..] : raw);
            if (Uri.CheckHostName(name) != UriHostNameType.Dns)
                return false;
            if (wildcard)
            {
                if (name.Split('.').Length < MinWildcardLabels)
                    return false;
                parents.Add("." + name);
            }
            else
                hosts.Add(name);
        }
        if (hosts.Count == 0 && parents.Count == 0)
            return false;
        policy = new PortalUrlPolicy(hosts, [.. parents]);
        return true;
    }

    /// <summary>Checks <paramref name="url"/> as Upflow sent it; on <see cref="Verdict.Allowed"/>,
    /// <paramref name="normalised"/> is the form to store and publish.</summary>
    public Verdict Check(string? url, out string? normalised)
    {
        normalised = null;
        if (string.IsNullOrEmpty(url))
            return Verdict.NotAbsolute;
        // Before parsing: Uri quietly drops or escapes some of these, and what Upflow sent is what we judge.
        if (UntrustedText.FindUnsafe(url) is not null || url.Any(char.IsWhiteSpace))
            return Verdict.ControlCharacter;
        if (!Uri.TryCreate(url, UriKind.Absolute, out var parsed))
            return Verdict.NotAbsolute;
        if (parsed.Scheme != Uri.UriSchemeHttps)
            return Verdict.NotHttps;
        if (parsed.UserInfo.Length > 0)
            return Verdict.UserInfo;
        if (!IsAllowedHost(parsed))
            return Verdict.HostNotAllowed;
        normalised = parsed.AbsoluteUri;
        return Verdict.Allowed;
    }

    /// <summary>The host of an absolute URL in its ASCII form, for a log line that must say where a refused URL pointed
    /// without quoting the URL (whose path carries the token).</summary>
    public static string HostOf(string url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var parsed) ? UntrustedText.Clean(parsed.IdnHost) : "(none)";

    private bool IsAllowedHost(Uri url)
    {
        if (url.HostNameType != UriHostNameType.Dns)
            return false;
        var host = Normalise(url.IdnHost);
        return _hosts.Contains(host) || _parentDomains.Any(parent => host.EndsWith(parent, StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>Lower case, ASCII (punycode) form, without the root's trailing dot (<c>app.upflow.io.</c> is the same
    /// host as <c>app.upflow.io</c>).</summary>
    private static string Normalise(string host)
    {
        var ascii = host.TrimEnd('.');
        try
        {
            ascii = new IdnMapping().GetAscii(ascii);
        }
        catch (ArgumentException)
        {
            // Not a valid name; Uri.CheckHostName (or the comparison) refuses it.
        }
        return ascii.ToLowerInvariant();
    }
}
