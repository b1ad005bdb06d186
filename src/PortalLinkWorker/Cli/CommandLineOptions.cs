using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using PortalLinkWorker.Links;

namespace PortalLinkWorker.Cli;

/// <summary>The arguments several commands share, defined once so that they parse and are checked the same way
/// everywhere. Each call makes a new symbol (a command owns its options).</summary>
internal static class CommandLineOptions
{
    /// <summary>Whole seconds. Only parsed here: the range is the worker's rule, <see cref="PortalLinkRequestValidator.ValidateExpiresIn"/>
    /// with <c>Upflow:MaxExpiresIn</c>, applied where the settings are known (by the worker for <c>request</c>, which
    /// sends what it is given so that the worker's answer can be seen; by <c>campaign start</c> before anything is
    /// recorded).</summary>
    public static Option<int?> ExpiresIn() => new("--expires-in")
    {
        Description = "link lifetime in seconds (default: Upflow's, one day; at most Upflow:MaxExpiresIn)",
        HelpName = "seconds",
        CustomParser = result => ParseInt(result, NumberStyles.AllowLeadingSign, "--expires-in takes a whole number of seconds."),
    };

    /// <summary>A duration written as a number of seconds or with a unit (<c>90</c>, <c>90s</c>, <c>30m</c>, <c>12h</c>,
    /// <c>7d</c>), in whole seconds. The range is the worker's rule (<see cref="PortalLinkRequestValidator.ValidateReuseIfValidFor"/>).</summary>
    public static Option<int?> ReuseIfValidFor() => new("--reuse-if-valid-for")
    {
        Description = "answer a customer's stored link again instead of calling Upflow when it stays valid at least this long (90s, 30m, 12h, 7d)",
        HelpName = "duration",
        CustomParser = result => ParseDuration(result, "--reuse-if-valid-for takes a duration: whole seconds, or a number with s, m, h or d (7d)."),
    };

    public static int? ParseDuration(ArgumentResult result, string error)
    {
        var text = result.Tokens.Count == 1 ? result.Tokens[0].Value : "";
        var unit = text.Length > 0 && char.IsAsciiLetter(text[^1]) ? char.ToLowerInvariant(text[^1]) : 's';
        var number = char.IsAsciiLetter(text.Length > 0 ? text[^1] : '0') ? text[..^1] : text;
        long? scale = unit switch { 's' => 1, 'm' => 60, 'h' => 3_600, 'd' => 86_400, _ => null };
        if (scale is { } s && long.TryParse(number, NumberStyles.None, CultureInfo.InvariantCulture, out var value) &&
            value * s is var seconds and > 0 and <= int.MaxValue)
            return (int)seconds;
        result.AddError(error);
        return null;
    }

    /// <summary>Given without a value, an empty list (no frame-ancestors restriction asked for).</summary>
    public static Option<string?> FrameAncestors(bool validate) => new("--frame-ancestors")
    {
        Description = "hosts allowed to frame the portal, space-separated",
        HelpName = "\"<host> <host>\"",
        Arity = ArgumentArity.ZeroOrOne,
        CustomParser = result =>
        {
            var value = result.Tokens.Count == 0 ? "" : result.Tokens[0].Value;
            if (validate && PortalLinkRequestValidator.ValidateFrameAncestors(value) is { } problem)
                result.AddError($"--frame-ancestors: {problem}");
            return value;
        },
    };

    public static Option<Guid?> CampaignId(string description) => new("--campaign-id")
    {
        Description = description,
        HelpName = "uuid",
        CustomParser = result => ParseGuid(result, "--campaign-id takes a UUID."),
    };

    public static Option<bool> Wait(string description) => new("--wait") { Description = description };

    /// <summary>A campaign's id as the positional argument of <c>campaign status|retry-failed</c>.</summary>
    public static Argument<Guid> CampaignIdArgument(string verb) => new("campaignId")
    {
        Description = "the campaign's id",
        CustomParser = result => ParseGuid(result, $"campaign {verb} needs the campaign's id (a UUID).") ?? Guid.Empty,
    };

    public static int? ParseInt(ArgumentResult result, NumberStyles styles, string error)
    {
        if (result.Tokens.Count == 1 && int.TryParse(result.Tokens[0].Value, styles, CultureInfo.InvariantCulture, out var value))
            return value;
        result.AddError(error);
        return null;
    }

    /// <summary>A whole number above zero, without sign.</summary>
    public static int? ParsePositive(ArgumentResult result, string error)
    {
        if (result.Tokens.Count == 1 && int.TryParse(result.Tokens[0].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value > 0)
            return value;
        result.AddError(error);
        return null;
    }

    public static Guid? ParseGuid(ArgumentResult result, string error)
    {
        if (result.Tokens.Count == 1 && Guid.TryParse(result.Tokens[0].Value, out var value))
            return value;
        result.AddError(error);
        return null;
    }
}
