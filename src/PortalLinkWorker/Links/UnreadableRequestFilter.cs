using System.Text.Json;
using MassTransit;
using PortalLinkContracts;
using PortalLinkWorker.Input;

namespace PortalLinkWorker.Links;

/// <summary>
/// A <see cref="GeneratePortalLink"/> whose fields have the wrong type (an ExpiresIn of "60", a RequestId that is not a
/// UUID) cannot be read into the contract, so the consumer never sees it. When the body still names a RequestId, the
/// publisher gets its answer: a <see cref="PortalLinkFailed"/> with <c>InvalidRequest</c> saying which field was wrong,
/// and the message is acknowledged. So is a body the reader refuses (a lone surrogate) or one over the size limit
/// (<see cref="MessageSizeFilter"/>). A body without a readable RequestId goes to the error queue, with the reason.
/// </summary>
public sealed partial class UnreadableRequestFilter(TimeProvider time, ILogger<UnreadableRequestFilter> logger,
    LinkOutcomes? outcomes = null)
    : IFilter<ExceptionReceiveContext>
{
    /// <summary>The error pipe of the endpoint: this filter, then MassTransit's usual two (publish the Fault, move the
    /// message to the error queue), which only run when this one passes the message on.</summary>
    public static void Configure(IPipeConfigurator<ExceptionReceiveContext> error, TimeProvider time, ILogger<UnreadableRequestFilter> logger,
        LinkOutcomes? outcomes = null)
    {
        error.UseFilter(new UnreadableRequestFilter(time, logger, outcomes));
        error.UseFilter(new MassTransit.Middleware.GenerateFaultFilter());
        error.UseFilter(new MassTransit.Middleware.ErrorTransportFilter());
    }

    public async Task Send(ExceptionReceiveContext context, IPipe<ExceptionReceiveContext> next)
    {
        if (IsUnreadable(context.Exception) && RequestKeys.Read(MessageBodyMemory.Of(context.Body).Span) is { } keys)
        {
            var message = UntrustedText.Clean($"GeneratePortalLink could not be read: {Describe(context.Exception)}", MaxReason);
            LogUnreadable(logger, keys.RequestId, message);
            var endpoint = await context.PublishEndpointProvider.GetPublishSendEndpoint<PortalLinkFailed>();
            await endpoint.Send(new PortalLinkFailed(keys.RequestId, CustomerIdEcho.Echoed(keys.CustomerId), PortalLinkFailureReason.InvalidRequest,
                message, time.GetUtcNow(), keys.CampaignId), context.CancellationToken);
            outcomes?.Failed(keys.RequestId, PortalLinkRequestValidator.ValidateCustomerId(keys.CustomerId) is null ? keys.CustomerId : "(invalid)",
                PortalLinkFailureReason.InvalidRequest, keys.CampaignId);
            return; // answered: acknowledged, not moved to the error queue
        }
        await next.Send(context);
    }

    public void Probe(ProbeContext context) => context.CreateFilterScope("unreadable-request");

    /// <summary>A body no retry will read better: malformed or mistyped JSON, text System.Text.Json refuses (a lone
    /// surrogate: an <see cref="InvalidOperationException"/> from the reader, not a JsonException), or a body over the
    /// endpoint's size limit (<see cref="MessageSizeFilter"/>).</summary>
    public static bool IsUnreadable(Exception e)
    {
        for (var inner = e; inner is not null; inner = inner.InnerException)
            if (inner is JsonException or MessageTooLargeException or System.Text.DecoderFallbackException ||
                inner is InvalidOperationException && inner.Source == typeof(JsonException).Assembly.GetName().Name)
                return true;
        return false;
    }

    /// <summary>System.Text.Json names the field ("Path: $.message.expiresIn"); the value itself is not repeated.</summary>
    private static string Describe(Exception e)
    {
        var json = e as JsonException ?? e.InnerException as JsonException;
        var text = (json ?? e).Message;
        var cut = text.IndexOf(" | LineNumber", StringComparison.Ordinal);
        return cut > 0 ? text[..cut] : text;
    }

    /// <summary>The reason echoed in PortalLinkFailed and the log: System.Text.Json's messages name the path, and a path
    /// may hold a publisher's property names.</summary>
    private const int MaxReason = 500;

    [LoggerMessage(Level = LogLevel.Warning, Message = "Request {RequestId} rejected: {Problem}")]
    private static partial void LogUnreadable(ILogger logger, Guid requestId, string problem);
}
