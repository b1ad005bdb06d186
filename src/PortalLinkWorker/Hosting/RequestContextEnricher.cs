using Serilog.Core;
using Serilog.Events;

namespace PortalLinkWorker.Hosting;

/// <summary>Adds <c>RequestContext</c>, " (request …, customer …, campaign …)", to every log line written inside a
/// request's scope and an empty string elsewhere, so the console template can show it without empty labels.</summary>
public sealed class RequestContextEnricher : ILogEventEnricher
{
    public const string PropertyName = "RequestContext";

    public void Enrich(LogEvent logEvent, ILogEventPropertyFactory propertyFactory)
    {
        var parts = new List<string>(3);
        Add(logEvent, "RequestId", "request", parts);
        Add(logEvent, "CustomerId", "customer", parts);
        Add(logEvent, "CampaignId", "campaign", parts);
        logEvent.AddPropertyIfAbsent(propertyFactory.CreateProperty(PropertyName, parts.Count == 0 ? "" : $" ({string.Join(", ", parts)})"));
    }

    private static void Add(LogEvent logEvent, string property, string label, List<string> parts)
    {
        if (logEvent.Properties.TryGetValue(property, out var value) && value is ScalarValue { Value: not null and var scalar })
            parts.Add($"{label} {scalar}");
    }
}
