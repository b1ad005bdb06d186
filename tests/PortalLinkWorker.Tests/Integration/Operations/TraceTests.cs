using System.Diagnostics;
using OpenTelemetry;
using OpenTelemetry.Trace;
using PortalLinkContracts;

namespace PortalLinkWorker.Tests.Integration.Operations;

/// <summary>One trace from the publisher's message through the Upflow call to the published event: MassTransit carries
/// the trace context in the message headers, and the HttpClient call runs inside the consume activity.</summary>
[Collection(WorkerCollection.Name)]
[Trait("Category", "Integration")]
public sealed class TraceTests(WorkerFixture fixture)
{
    private static readonly ActivitySource Publisher = new("PortalLinkWorker.Tests.Publisher");

    [Fact]
    public async Task Request_OneTraceFromPublishThroughUpflowToTheEvent_WithoutUrlsOrSecrets()
    {
        var spans = new List<Activity>();
        // Activity listeners are process-wide: this provider sees the in-process worker's spans as an exporter would.
        using var tracing = Sdk.CreateTracerProviderBuilder()
            .AddSource("MassTransit", Publisher.Name)
            .AddHttpClientInstrumentation()
            .AddInMemoryExporter(spans)
            .Build();

        var request = new GeneratePortalLink(Guid.NewGuid(), "external:traced-1", 600);
        ActivityTraceId traceId;
        // The publisher's own span, sampled: MassTransit's send span and everything after it are its descendants.
        using (var publisher = Publisher.StartActivity("publish GeneratePortalLink", ActivityKind.Internal)!)
        {
            traceId = publisher.TraceId;
            await fixture.Observer.Bus.Publish(request);
        }
        var generated = await fixture.Observer.OutcomeAsync<PortalLinkGenerated>(request.RequestId);

        List<Activity> Trace()
        {
            lock (spans)
                return spans.Where(s => s.TraceId == traceId).ToList();
        }
        bool IsConsume(Activity s) => s.Kind == ActivityKind.Consumer && s.DisplayName.Contains("generate-portal-link", StringComparison.Ordinal);
        bool IsUpflowCall(Activity s) => s.Kind == ActivityKind.Client && s.GetTagItem("url.full") is string url && url.Contains("/portal", StringComparison.Ordinal);
        bool IsEventPublish(Activity s) => s.Kind == ActivityKind.Producer &&
            s.TagObjects.Any(t => t.Value is string v && v.Contains("PortalLinkGenerated", StringComparison.Ordinal));
        try
        {
            await Eventually.TrueAsync(() => Trace().Any(IsConsume) && Trace().Any(IsUpflowCall) && Trace().Any(IsEventPublish),
                TimeSpan.FromSeconds(30));
        }
        catch (TimeoutException)
        {
            Assert.Fail("Spans of the trace: " + string.Join("; ", Trace().Select(s => $"{s.Kind} {s.DisplayName}")));
        }

        var trace = Trace();
        // A message handed back to the queue (a pause) is consumed again in the same trace: any consume span will do.
        var consumes = trace.Where(IsConsume).ToList();
        Assert.Contains(consumes, c => IsDescendant(trace.First(IsUpflowCall), c, trace));
        Assert.Contains(consumes, c => IsDescendant(trace.First(IsEventPublish), c, trace));

        foreach (var span in trace)
            foreach (var tag in span.TagObjects)
            {
                var value = tag.Value?.ToString() ?? "";
                Assert.DoesNotContain(generated.Url, value);
                Assert.DoesNotContain(WorkerFixture.ApiSecret, value);
                Assert.DoesNotContain("portal.upflow-simulator.invalid", value);
            }
    }

    private static bool IsDescendant(Activity span, Activity ancestor, List<Activity> trace)
    {
        var byId = trace.ToDictionary(s => s.SpanId);
        for (var parent = span.ParentSpanId; byId.TryGetValue(parent, out var next); parent = next.ParentSpanId)
            if (next.SpanId == ancestor.SpanId)
                return true;
        return false;
    }
}
