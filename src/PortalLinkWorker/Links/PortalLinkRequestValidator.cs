using PortalLinkContracts;
using PortalLinkWorker.Input;
using PortalLinkWorker.Upflow;

namespace PortalLinkWorker.Links;

/// <summary>
/// Checks a <see cref="GeneratePortalLink"/> before anything is sent to Upflow. FrameAncestors ends up in a
/// Content-Security-Policy header on Upflow's side, so anything but plain host names is treated as an injection.
/// </summary>
public static class PortalLinkRequestValidator
{
    /// <summary>The prefix of an ERP customer id (<see cref="UpflowCustomerPath.ExternalPrefix"/>).</summary>
    public const string ExternalPrefix = UpflowCustomerPath.ExternalPrefix;

    /// <summary>Longest CustomerId accepted. Upflow documents none; ERP ids are far shorter, and a bound keeps a
    /// publisher's mistake from becoming a megabyte-long URL.</summary>
    public const int MaxCustomerIdLength = 256;

    /// <summary>xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx.</summary>
    private const int UuidLength = 36;

    /// <summary>DNS limits (RFC 1035): a name of at most 253 characters, labels of 1 to 63.</summary>
    public const int MaxHostNameLength = 253;
    public const int MaxLabelLength = 63;

    /// <summary>Most host names in one FrameAncestors list: more is not a list of embedding sites but a mistake.</summary>
    public const int MaxFrameAncestors = 32;

    /// <summary>32 names of 253 characters and the spaces between them: checked before the list is split.</summary>
    public const int MaxFrameAncestorsLength = MaxFrameAncestors * (MaxHostNameLength + 1);

    /// <summary>Longest campaign name accepted: it is shown on the status page and in logs and events.</summary>
    public const int MaxCampaignNameLength = 200;

    /// <summary>Null when <paramref name="name"/> may be a campaign's name (absent or blank: the campaign id is used),
    /// else what is wrong. A name reaches log lines, the status page and <c>PortalLinkCampaignCompleted</c>: a line
    /// break in it would forge a log line, so it is refused like an id's, not cleaned.</summary>
    public static string? ValidateCampaignName(string? name)
    {
        if (string.IsNullOrEmpty(name))
            return null;
        if (name.Length > MaxCampaignNameLength)
            return $"Name is {name.Length} characters long; at most {MaxCampaignNameLength} are accepted.";
        if (UntrustedText.FindUnsafe(name) is { } unsafeCharacter)
            return $"Name contains a control character (Unicode Cc, Cf, Zl or Zp, or half a surrogate pair): {unsafeCharacter}.";
        return null;
    }

    /// <summary>Returns null when the request may go to Upflow, else a sentence saying what is wrong.</summary>
    public static string? Validate(GeneratePortalLink request, int maxExpiresIn)
    {
        if (request.RequestId == Guid.Empty)
            return "RequestId is missing or empty; it is the idempotency key and is required.";
        return ValidateCustomerId(request.CustomerId)
            ?? ValidateExpiresIn(request.ExpiresIn, maxExpiresIn)
            ?? ValidateFrameAncestors(request.FrameAncestors)
            ?? ValidateReuseIfValidFor(request.ReuseIfValidFor, maxExpiresIn);
    }

    /// <summary>Null (always a new link) or a positive number of seconds no longer than the longest link
    /// (<c>Upflow:MaxExpiresIn</c>): no stored link could stay valid longer.</summary>
    public static string? ValidateReuseIfValidFor(int? reuseIfValidFor, int maxExpiresIn)
    {
        if (reuseIfValidFor is null)
            return null;
        if (reuseIfValidFor <= 0)
            return $"ReuseIfValidFor is {reuseIfValidFor}; it must be a positive number of seconds (or absent for a new link).";
        if (reuseIfValidFor > maxExpiresIn)
            return $"ReuseIfValidFor is {reuseIfValidFor} s; the most accepted is {maxExpiresIn} s (Upflow:MaxExpiresIn).";
        return null;
    }

    public static string? ValidateCustomerId(string? customerId)
    {
        if (string.IsNullOrEmpty(customerId))
            return "CustomerId is missing or empty.";
        if (customerId.Length > MaxCustomerIdLength)
            return $"CustomerId is {customerId.Length} characters long; at most {MaxCustomerIdLength} are accepted.";
        // Cc, Cf, Zl, Zp and lone surrogates: a line break or a bidi override in an id forges log lines and misleads
        // whoever reads the status page; a lone surrogate cannot even be stored.
        if (UntrustedText.FindUnsafe(customerId) is { } unsafeCharacter)
            return $"CustomerId contains a control character (Unicode Cc, Cf, Zl or Zp, or half a surrogate pair): {unsafeCharacter}.";
        if (customerId.StartsWith(ExternalPrefix, StringComparison.Ordinal))
            return customerId.Length == ExternalPrefix.Length || string.IsNullOrWhiteSpace(customerId[ExternalPrefix.Length..])
                ? "CustomerId 'external:' has no id after the prefix."
                : null;
        // TryParseExact forgives surrounding white space; Upflow would not, so the length is checked too.
        if (customerId.Length == UuidLength && Guid.TryParseExact(customerId, "D", out _))
            return null;
        return "CustomerId is neither an Upflow customer UUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx) nor 'external:<your id>'.";
    }

    public static string? ValidateExpiresIn(int? expiresIn, int maxExpiresIn)
    {
        if (expiresIn is null)
            return null;
        if (expiresIn <= 0)
            return $"ExpiresIn is {expiresIn}; it must be a positive number of seconds.";
        if (expiresIn > maxExpiresIn)
            return $"ExpiresIn is {expiresIn} s; the most accepted is {maxExpiresIn} s (Upflow:MaxExpiresIn).";
        return null;
    }

    /// <summary>An empty string counts as absent. Otherwise: host names separated by single spaces; ASCII letters,
    /// digits and hyphens only (an internationalised name goes in its punycode form).</summary>
    public static string? ValidateFrameAncestors(string? frameAncestors)
    {
        if (string.IsNullOrEmpty(frameAncestors))
            return null;
        if (frameAncestors.Length > MaxFrameAncestorsLength)
            return $"FrameAncestors is {frameAncestors.Length} characters long; at most {MaxFrameAncestorsLength} are accepted.";
        var hosts = frameAncestors.Split(' ');
        if (hosts.Length > MaxFrameAncestors)
            return $"FrameAncestors names {hosts.Length} hosts; at most {MaxFrameAncestors} are accepted.";
        foreach (var host in hosts)
        {
            var problem = HostNameProblem(host);
            if (problem is not null)
                return $"FrameAncestors must be host names separated by single spaces (no scheme, port, path or wildcard): {problem}";
        }
        return null;
    }

    private static string? HostNameProblem(string host)
    {
        if (host.Length == 0)
            return "an empty name (a leading, trailing or double space).";
        if (host.Length > MaxHostNameLength)
            return $"a name of {host.Length} characters (at most {MaxHostNameLength}).";
        foreach (var label in host.Split('.'))
        {
            if (label.Length is 0 or > MaxLabelLength)
                return $"'{Printable(host)}' has a label of {label.Length} characters (1 to {MaxLabelLength}).";
            if (!label.All(c => char.IsAsciiLetterOrDigit(c) || c == '-'))
                return $"'{Printable(host)}' contains a character other than letters, digits, '-' and '.'.";
            if (label[0] == '-' || label[^1] == '-')
                return $"'{Printable(host)}' has a label that starts or ends with '-'.";
        }
        return null;
    }

    /// <summary>Echoes a bad value in an error message without unsafe characters and without unbounded length.</summary>
    private static string Printable(string value) => UntrustedText.Clean(value, MaxEchoedHostName);

    /// <summary>A host name is at most 253 characters; a longer echo would only repeat the mistake.</summary>
    private const int MaxEchoedHostName = 80;
}
