using System.Text.Json;
using MassTransit;
using PortalLinkContracts;

namespace PortalLinkWorker.Links;

/// <summary>
/// A <see cref="GeneratePortalLink"/> whose fields have the wrong type (an ExpiresIn of "60", a RequestId that is not a
/// UUID) cannot be read into the contract, so the consumer never sees it. When the body still names a RequestId, the
/// publisher gets its answer: a <see cref="PortalLinkFailed"/> with <c>InvalidRequest</c> saying which field was wrong,
/// and the message is acknowledged. A body without a readable RequestId goes to the error queue as before.
/// </summary>
public sealed partial class UnreadableRequestFilter(TimeProvider time, ILogger<UnreadableRequestFilter> logger,
    Operations.LinkOutcomes? outcomes = null)
    : IFilter<ExceptionReceiveContext>
{
    /// <summary>The error pipe of the endpoint: this filter, then MassTransit's usual two (publish the Fault, move the
    /// message to the error queue), which only run when this one passes the message on.</summary>
    public static void Configure(IPipeConfigurator<ExceptionReceiveContext> error, TimeProvider time, ILogger<UnreadableRequestFilter> logger,
        Operations.LinkOutcomes? outcomes = null)
    {
        error.UseFilter(new UnreadableRequestFilter(time, logger, outcomes));
        error.UseFilter(new MassTransit.Middleware.GenerateFaultFilter());
        error.UseFilter(new MassTransit.Middleware.ErrorTransportFilter());
    }

    public async Task Send(ExceptionReceiveContext context, IPipe<ExceptionReceiveContext> next)
    {
        if (IsUnreadable(context.Exception) && ReadKeys(context.Body.GetBytes()) is { } keys)
        {
            var message = $"GeneratePortalLink could not be read: {Describe(context.Exception)}";
            LogUnreadable(logger, keys.RequestId, message);
            var endpoint = await context.PublishEndpointProvider.GetPublishSendEndpoint<PortalLinkFailed>();
            await endpoint.Send(new PortalLinkFailed(keys.RequestId, keys.CustomerId, PortalLinkFailureReason.InvalidRequest,
                message, time.GetUtcNow(), keys.CampaignId), context.CancellationToken);
            outcomes?.Failed(keys.RequestId, PortalLinkRequestValidator.ValidateCustomerId(keys.CustomerId) is null ? keys.CustomerId : "(invalid)",
                PortalLinkFailureReason.InvalidRequest, keys.CampaignId);
            return; // answered: acknowledged, not moved to the error queue
        }
        await next.Send(context);
    }

    public void Probe(ProbeContext context) => context.CreateFilterScope("unreadable-request");

    private static bool IsUnreadable(Exception e)
    {
        for (var inner = e; inner is not null; inner = inner.InnerException)
            if (inner is JsonException)
                return true;
        return false;
    }

    /// <summary>RequestId (required), CustomerId and CampaignId, read leniently from a MassTransit envelope's
    /// <c>message</c> or from a plain JSON body; null when there is no usable RequestId.</summary>
    internal static (Guid RequestId, string CustomerId, Guid? CampaignId)? ReadKeys(byte[] body)
    {
        try
        {
            var root = JsonDocument.Parse(body).RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                return null;
            var message = Property(root, "message") is { ValueKind: JsonValueKind.Object } inner ? inner : root;
            if (Property(message, "requestId") is not { ValueKind: JsonValueKind.String } id || !Guid.TryParse(id.GetString(), out var requestId) ||
                requestId == Guid.Empty)
                return null;
            var customerId = Property(message, "customerId") is { ValueKind: JsonValueKind.String } customer ? customer.GetString() ?? "" : "";
            Guid? campaignId = Property(message, "campaignId") is { ValueKind: JsonValueKind.String } campaign &&
                               Guid.TryParse(campaign.GetString(), out var parsed) ? parsed : null;
            return (requestId, customerId, campaignId);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or ArgumentException)
        {
            return null;
        }
    }

    private static JsonElement? Property(JsonElement element, string name)
    {
        foreach (var property in element.EnumerateObject())
            if (string.Equals(property.Name, name, StringComparison.OrdinalIgnoreCase))
                return property.Value;
        return null;
    }

    /// <summary>System.Text.Json names the field ("Path: $.message.expiresIn"); the value itself is not repeated.</summary>
    private static string Describe(Exception e)
    {
        var json = e as JsonException ?? e.InnerException as JsonException;
        var text = (json ?? e).Message;
        var cut = text.IndexOf(" | LineNumber", StringComparison.Ordinal);
        return cut > 0 ? text[..cut] : text;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Request {RequestId} rejected: {Problem}")]
    private static partial void LogUnreadable(ILogger logger, Guid requestId, string problem);
}
