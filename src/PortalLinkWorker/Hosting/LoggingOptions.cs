using System.ComponentModel.DataAnnotations;

namespace PortalLinkWorker.Hosting;

/// <summary>The <c>Logging</c> section's <c>Format</c>: how the console log is written.</summary>
public sealed class LoggingOptions
{
    public const string Section = "Logging";
    public const string Text = "text";
    public const string Json = "json";

    /// <summary>The human-readable line, used unless <see cref="Format"/> says json.</summary>
    public const string TextTemplate = "[{Timestamp:HH:mm:ss.fff} {Level:u3}] {Message:lj}{RequestContext}{NewLine}{Exception}";

    /// <summary><c>text</c> (default): one readable line per event. <c>json</c>: Serilog's compact JSON (CLEF), one object
    /// per line, with RequestId, CustomerId and CampaignId as properties (<c>Logging__Format=json</c>).</summary>
    [RegularExpression("^(?i:text|json)$", ErrorMessage = "Logging:Format must be text or json (environment variable Logging__Format).")]
    public string Format { get; set; } = Text;

    public bool IsJson => string.Equals(Format, Json, StringComparison.OrdinalIgnoreCase);
}
