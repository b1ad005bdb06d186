using System.Text.Json;
using System.Text.Json.Serialization;

namespace PortalLinkWorker.Operations;

/// <summary>How <c>/status.json</c> is written: camelCase, ISO dates.</summary>
public static class StatusJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };
}
