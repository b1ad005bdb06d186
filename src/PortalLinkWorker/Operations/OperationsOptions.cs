using System.ComponentModel.DataAnnotations;

namespace PortalLinkWorker.Operations;

/// <summary>Settings of the <c>Operations</c> section: who may read the status page.</summary>
public sealed class OperationsOptions
{
    public const string Section = "Operations";

    /// <summary>Shortest <see cref="StatusToken"/> accepted: 128 bits of hex.</summary>
    public const int MinStatusTokenLength = 32;

    /// <summary>When set, the status page (<c>/</c>) and <c>/status.json</c> answer only requests carrying
    /// <c>Authorization: Bearer &lt;token&gt;</c> (401 otherwise); they show recent customer and request ids and campaign
    /// names. <c>/health/*</c> and <c>/metrics</c> stay open to probes and scrapers. Default: not set (the endpoint listens
    /// on 127.0.0.1 unless configured otherwise). At least 32 characters, e.g. <c>openssl rand -hex 16</c>.</summary>
    [MinLength(MinStatusTokenLength)]
    public string? StatusToken { get; set; }
}
