using System.Globalization;

namespace PortalLinkWorker.Cli;

/// <summary>The arguments of <c>campaign start|status|retry-failed</c>.</summary>
public sealed record CampaignCommandOptions(
    string Verb,
    string? File,
    string? Name,
    int? ExpiresIn,
    string? FrameAncestors,
    Guid? CampaignId,
    bool Wait,
    string[] Settings)
{
    public static (CampaignCommandOptions Options, string? Error) Parse(string[] args)
    {
        var verb = args.Length > 0 ? args[0] : "";
        string? file = null, name = null, frameAncestors = null, error = null;
        int? expiresIn = null;
        Guid? campaignId = null;
        var wait = false;
        var settings = new List<string>();
        if (verb is not ("start" or "status" or "retry-failed"))
            error = "campaign takes start, status or retry-failed.";
        for (var i = 1; i < args.Length && error is null; i++)
        {
            string? Value() => i + 1 < args.Length ? args[++i] : null;
            switch (args[i])
            {
                case "--file" when verb == "start":
                    file = Value() ?? (error = "--file takes a path.");
                    break;
                case "--name" when verb == "start":
                    name = Value() ?? (error = "--name takes a name.");
                    break;
                case "--expires-in" when verb == "start":
                    if (int.TryParse(Value(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var seconds))
                        expiresIn = seconds;
                    else
                        error = "--expires-in takes a whole number of seconds.";
                    break;
                case "--frame-ancestors" when verb == "start":
                    frameAncestors = Value() ?? "";
                    break;
                case "--campaign-id" when verb == "start":
                    if (Guid.TryParse(Value(), out var id))
                        campaignId = id;
                    else
                        error = "--campaign-id takes a UUID.";
                    break;
                case "--wait":
                    wait = true;
                    break;
                case var setting when setting.StartsWith("--", StringComparison.Ordinal) && setting.Contains('='):
                    settings.Add(setting);
                    break;
                case var option when option.StartsWith("--", StringComparison.Ordinal):
                    error = $"Unknown option '{option}' for campaign {verb}.";
                    break;
                default:
                    if (verb != "start" && campaignId is null && Guid.TryParse(args[i], out var campaign))
                        campaignId = campaign;
                    else
                        error = $"Unexpected argument '{args[i]}'.";
                    break;
            }
        }
        if (error is null && verb == "start" && file is null)
            error = "campaign start needs --file <customers.csv>.";
        if (error is null && verb != "start" && campaignId is null)
            error = $"campaign {verb} needs the campaign's id (a UUID).";
        if (error is null && verb == "start")
            error = Links.PortalLinkRequestValidator.ValidateExpiresIn(expiresIn, int.MaxValue) is { } e1 ? $"--expires-in: {e1}"
                : Links.PortalLinkRequestValidator.ValidateFrameAncestors(frameAncestors) is { } e2 ? $"--frame-ancestors: {e2}"
                : Links.PortalLinkRequestValidator.ValidateCampaignName(name) is { } e3 ? $"--name: {e3}" : null;
        return (new CampaignCommandOptions(verb, file, name, expiresIn,
            string.IsNullOrEmpty(frameAncestors) ? null : frameAncestors, campaignId, wait, [.. settings]), error);
    }
}
