using System.Buffers;
using System.Net;

namespace PortalLinkWorker.Upflow;

/// <summary>
/// Reads every Upflow answer's body into memory before the answer leaves the pipeline, at most
/// <see cref="MaxAnswerBytes"/>. It sits inside the resilience handler, so the read runs within the attempt timeout: an
/// answer whose headers come at once and whose body trickles ends with that attempt (a transient failure, retried by the
/// pipeline), instead of holding a consumer slot outside every timeout. A body over the bound is not read further: the
/// connection is dropped and the answer keeps its status and headers with an <see cref="OversizedContent"/> for a body.
/// </summary>
internal sealed class BoundedAnswerHandler : DelegatingHandler
{
    /// <summary>Upflow's answer is a small JSON object; anything bigger is not an answer we understand.</summary>
    public const int MaxAnswerBytes = 64 * 1024;

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var response = await base.SendAsync(request, cancellationToken);
        try
        {
            var original = response.Content;
            response.Content = original.Headers.ContentLength > MaxAnswerBytes
                ? new OversizedContent()
                : await BufferAsync(original, cancellationToken);
            // Unread content left: SocketsHttpHandler closes the connection (MaxResponseDrainSize is 0 on our handler).
            original.Dispose();
            return response;
        }
        catch (Exception e) when (e is IOException or HttpRequestException && cancellationToken.IsCancellationRequested)
        {
            response.Dispose();
            // The attempt timeout (or the caller) ended the read: Polly must see a cancellation to report a timeout.
            throw new OperationCanceledException("Reading Upflow's answer was cancelled.", e, cancellationToken);
        }
        catch (IOException e)
        {
            response.Dispose();
            // A body cut off mid-way is a connection failure, transient like the others (a bare IOException is not).
            throw new HttpRequestException(HttpRequestError.ResponseEnded, "Upflow's answer ended before its body did.", e);
        }
        catch
        {
            response.Dispose();
            throw;
        }
    }

    private static async Task<HttpContent> BufferAsync(HttpContent content, CancellationToken cancellationToken)
    {
        // One byte more than the bound tells "exactly the bound" from "more". Pooled: a fresh 64 KB array per call was
        // most of what the worker allocated per link.
        var buffer = ArrayPool<byte>.Shared.Rent(MaxAnswerBytes + 1);
        try
        {
            await using var stream = await content.ReadAsStreamAsync(cancellationToken);
            var total = 0;
            int read;
            while (total <= MaxAnswerBytes &&
                   (read = await stream.ReadAsync(buffer.AsMemory(total, MaxAnswerBytes + 1 - total), cancellationToken)) > 0)
                total += read;
            if (total > MaxAnswerBytes)
                return new OversizedContent();
            var buffered = new ByteArrayContent(buffer.AsSpan(0, total).ToArray());
            foreach (var header in content.Headers)
                if (!string.Equals(header.Key, "Content-Length", StringComparison.OrdinalIgnoreCase))
                    buffered.Headers.TryAddWithoutValidation(header.Key, header.Value);
            return buffered;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Stands for a body over <see cref="MaxAnswerBytes"/>, which was not read: empty.</summary>
    public sealed class OversizedContent : HttpContent
    {
        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) => Task.CompletedTask;

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return true;
        }
    }
}
