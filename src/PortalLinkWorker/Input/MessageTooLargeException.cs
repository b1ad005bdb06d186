namespace PortalLinkWorker.Input;

/// <summary>A message body above its endpoint's size limit, refused before it is deserialised. Its message is the
/// reason the error queue shows (<c>MT-Fault-Message</c>) and <c>PortalLinkFailed.Message</c> repeats.</summary>
public sealed class MessageTooLargeException(long length, long maxLength, string setting)
    : Exception($"The message body is {length:N0} bytes; at most {maxLength:N0} are accepted ({setting}).")
{
    public long Length { get; } = length;

    public long MaxLength { get; } = maxLength;
}
