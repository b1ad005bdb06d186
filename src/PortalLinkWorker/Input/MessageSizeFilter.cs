using MassTransit;
using MassTransit.Middleware.Rescue;

namespace PortalLinkWorker.Input;

/// <summary>
/// Refuses a message whose body is longer than its endpoint accepts, before anything deserialises it: a 20 MB body
/// becomes a 40 MB string and a JSON tree otherwise, sixteen at once took the worker from 232 MB to 1.6 GB. The refused
/// message goes through the endpoint's error pipe, as a message that failed to deserialise does (for GeneratePortalLink:
/// a <c>PortalLinkFailed</c> when the body names a RequestId, else the <c>_error</c> queue with the reason).
/// </summary>
/// <remarks>MassTransit puts filters of <c>ConfigureReceive</c> in front of its own rescue filter (ReceivePipeConfiguration:
/// user filters, dead letter, rescue, deserialise), so an exception thrown here would reach the transport and be
/// redelivered for ever; the filter hands the message to the error pipe itself instead, as the rescue filter does.</remarks>
public sealed partial class MessageSizeFilter(long maxLength, string setting, IPipe<ExceptionReceiveContext> errorPipe,
    ILogger<MessageSizeFilter> logger) : IFilter<ReceiveContext>
{
    /// <summary>Adds the filter to an endpoint's receive pipe; <paramref name="errorPipe"/> should be the endpoint's own.</summary>
    public static void Configure(IReceiveEndpointConfigurator endpoint, long maxLength, string setting,
        IPipe<ExceptionReceiveContext> errorPipe, ILogger<MessageSizeFilter> logger) =>
        endpoint.ConfigureReceive(receive => receive.UseFilter(new MessageSizeFilter(maxLength, setting, errorPipe, logger)));

    public async Task Send(ReceiveContext context, IPipe<ReceiveContext> next)
    {
        if (context.Body.Length is { } length && length > maxLength)
        {
            LogTooLarge(logger, context.InputAddress, length, maxLength, setting);
            await errorPipe.Send(new RescueExceptionReceiveContext(context, new MessageTooLargeException(length, maxLength, setting)));
            return;
        }
        await next.Send(context);
    }

    public void Probe(ProbeContext context)
    {
        var scope = context.CreateFilterScope("message-size");
        scope.Add("maxLength", maxLength);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Message on {InputAddress} refused before reading: {Length} bytes, at most {MaxLength} accepted ({Setting})")]
    private static partial void LogTooLarge(ILogger logger, Uri inputAddress, long length, long maxLength, string setting);
}
