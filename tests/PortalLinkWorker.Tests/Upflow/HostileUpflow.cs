using System.IO.Pipelines;
using System.Net;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace PortalLinkWorker.Tests.Upflow;

/// <summary>
/// A hostile "Upflow" over real HTTP on loopback: it answers every portal request with one <see cref="Answer"/>, and a
/// second listener on another port ("evil") stands for the host a redirect points to. Evil answers with a portal URL
/// that our policy would accept, so a followed redirect would show as an issued link; it records whether the
/// credentials reached it.
/// </summary>
public sealed class HostileUpflow : IAsyncDisposable
{
    /// <summary>The simulator's portal host: allowed by the tests' <c>Upflow:PortalHosts</c>.</summary>
    public const string PortalHost = "portal.upflow-simulator.invalid";

    /// <summary>In every URL this server hands out: it must never show in a message, an event or a log.</summary>
    public const string Token = "hostile-token-5f0c2e";

    /// <summary>The huge bodies' size: far beyond the 64 KB bound and beyond what loopback socket buffers hold
    /// (a few MB), so "the server could not write it all" means "the client stopped reading".</summary>
    public const long HugeBodyBytes = 50L * 1024 * 1024;

    /// <summary>A slow body comes one byte per this.</summary>
    public static readonly TimeSpan SlowBytePace = TimeSpan.FromSeconds(2);

    /// <summary>A slow body's announced length: at <see cref="SlowBytePace"/>, over half an hour to send.</summary>
    private const int SlowBodyBytes = 1_000;

    private const int HugeChunkBytes = 64 * 1024;

    /// <summary>A customer id containing this gets <see cref="Answer.SlowBody"/> whatever <see cref="Mode"/> says: one
    /// stalled customer among others that are answered.</summary>
    public const string SlowCustomerMarker = "hostile-slow";

    public enum Answer
    {
        GoodUrl,
        Redirect307ToOtherHost,
        Redirect302ToOtherHost,
        Redirect301SameHost,
        ForeignHostUrl,
        HttpUrl,
        UserInfoUrl,
        CrLfInUrl,
        SlowBody,
        HugeBody,
        HugeNotFound,

        /// <summary>A good URL under <c>link</c>, with another field: an Upflow whose answer changed shape.</summary>
        LinkField,

        /// <summary>A 200 HTML page (a proxy's or a captive portal's) that happens to hold a URL.</summary>
        HtmlPage,
    }

    private readonly WebApplication _upflow;
    private readonly WebApplication _evil;
    private int _upflowRequests;
    private int _evilRequests;
    private int _evilRequestsWithCredentials;
    private int _abortedAnswers;
    private int _hugeAnswersEnded;
    private long _sentBytes;

    private HostileUpflow(Answer mode)
    {
        Mode = mode;
        _upflow = Listener(bytes => Interlocked.Add(ref _sentBytes, bytes));
        _evil = Listener(_ => { });
        // Any method: a 301/302 followed by HttpClient comes back as a GET, and must be counted too.
        _upflow.Map("/v1/{**rest}", AnswerAsync);
        _evil.Map("/{**rest}", (HttpContext context) =>
        {
            Interlocked.Increment(ref _evilRequests);
            if (context.Request.Headers.ContainsKey("X-Api-Key") || context.Request.Headers.ContainsKey("X-Api-Secret"))
                Interlocked.Increment(ref _evilRequestsWithCredentials);
            return Results.Json(new { url = $"https://{PortalHost}/p/stolen-{Token}" });
        });
    }

    public Answer Mode { get; set; }

    /// <summary>Upflow's API root on this server, as <c>Upflow:BaseUrl</c>.</summary>
    public Uri BaseUrl => new($"{_upflow.Urls.First()}/v1");

    /// <summary>The other host's address, which no message, event or log may name.</summary>
    public Uri EvilUrl => new(_evil.Urls.First());

    public int UpflowRequests => Volatile.Read(ref _upflowRequests);
    public int EvilRequests => Volatile.Read(ref _evilRequests);
    public int EvilRequestsWithCredentials => Volatile.Read(ref _evilRequestsWithCredentials);

    /// <summary>Slow answers the client left before their end (the server saw the connection go).</summary>
    public int AbortedAnswers => Volatile.Read(ref _abortedAnswers);

    /// <summary>Huge answers whose handler has returned, one way or another.</summary>
    public int HugeAnswersEnded => Volatile.Read(ref _hugeAnswersEnded);

    /// <summary>Bytes Upflow's listener handed to its sockets (headers and bodies, every connection): what the client could
    /// have received at most.</summary>
    public long SentBytes => Interlocked.Read(ref _sentBytes);

    public static async Task<HostileUpflow> StartAsync(Answer mode)
    {
        var server = new HostileUpflow(mode);
        await server._upflow.StartAsync();
        await server._evil.StartAsync();
        return server;
    }

    private static WebApplication Listener(Action<long> sent)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen => listen.Use(next => connection =>
        {
            connection.Transport = new CountingTransport(connection.Transport, sent);
            return next(connection);
        })));
        builder.Logging.ClearProviders();
        return builder.Build();
    }

    private async Task AnswerAsync(HttpContext context)
    {
        Interlocked.Increment(ref _upflowRequests);
        var response = context.Response;
        var mode = context.Request.Path.Value?.Contains(SlowCustomerMarker, StringComparison.Ordinal) == true ? Answer.SlowBody : Mode;
        switch (mode)
        {
            case Answer.GoodUrl:
                await UrlAsync(response, $"https://{PortalHost.ToUpperInvariant()}/p/{Token}");
                break;
            case Answer.Redirect307ToOtherHost:
                Redirect(response, StatusCodes.Status307TemporaryRedirect, new Uri(EvilUrl, "/v1/customers/x/portal").AbsoluteUri);
                break;
            case Answer.Redirect302ToOtherHost:
                Redirect(response, StatusCodes.Status302Found, new Uri(EvilUrl, "/v1/customers/x/portal").AbsoluteUri);
                break;
            case Answer.Redirect301SameHost:
                Redirect(response, StatusCodes.Status301MovedPermanently, "/v1/customers/moved/portal");
                break;
            case Answer.ForeignHostUrl:
                await UrlAsync(response, $"https://evil.example/p/{Token}");
                break;
            case Answer.HttpUrl:
                await UrlAsync(response, $"http://{PortalHost}/p/{Token}");
                break;
            case Answer.UserInfoUrl:
                await UrlAsync(response, $"https://user:pw@{PortalHost}/p/{Token}");
                break;
            case Answer.CrLfInUrl:
                // JSON-escaped: the parsed string holds a real CR/LF.
                await UrlAsync(response, $"https://{PortalHost}/p/{Token}\r\nSet-Cookie: session={Token}");
                break;
            case Answer.SlowBody:
                await SlowBodyAsync(context);
                break;
            case Answer.HugeBody:
                await HugeBodyAsync(context, StatusCodes.Status200OK, announceLength: false);
                break;
            case Answer.HugeNotFound:
                await HugeBodyAsync(context, StatusCodes.Status404NotFound, announceLength: true);
                break;
            case Answer.LinkField:
                await response.WriteAsJsonAsync(new { link = $"https://{PortalHost}/p/{Token}", id = Token });
                break;
            case Answer.HtmlPage:
                response.ContentType = "text/html";
                await response.WriteAsync($"<html><a href=\"https://{PortalHost}/p/{Token}\">portal</a></html>");
                break;
        }
    }

    private static Task UrlAsync(HttpResponse response, string url) => response.WriteAsJsonAsync(new { url });

    private static void Redirect(HttpResponse response, int status, string location)
    {
        response.StatusCode = status;
        response.Headers.Location = location;
    }

    /// <summary>Headers at once, then one byte every <see cref="SlowBytePace"/>.</summary>
    private async Task SlowBodyAsync(HttpContext context)
    {
        var aborted = context.RequestAborted;
        context.Response.ContentType = "application/json";
        context.Response.ContentLength = SlowBodyBytes;
        await context.Response.StartAsync(aborted);
        try
        {
            for (var i = 0; i < SlowBodyBytes; i++)
            {
                await context.Response.Body.WriteAsync(" "u8.ToArray(), aborted);
                await context.Response.Body.FlushAsync(aborted);
                // Throws once the client has gone: the connection's end is the token's cancellation.
                await Task.Delay(SlowBytePace, aborted);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException)
        {
            Interlocked.Increment(ref _abortedAnswers);
        }
    }

    private async Task HugeBodyAsync(HttpContext context, int status, bool announceLength)
    {
        var aborted = context.RequestAborted;
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        if (announceLength)
            context.Response.ContentLength = HugeBodyBytes;
        var chunk = Encoding.ASCII.GetBytes(new string(' ', HugeChunkBytes));
        try
        {
            // Once the client has gone, Kestrel may complete the remaining writes without sending them (before the token
            // says so): what was sent is counted below the HTTP layer, in SentBytes.
            for (long written = 0; written < HugeBodyBytes && !aborted.IsCancellationRequested; written += chunk.Length)
                await context.Response.Body.WriteAsync(chunk, aborted);

        }
        catch (Exception e) when (e is OperationCanceledException or IOException)
        {
        }
        finally
        {
            Interlocked.Increment(ref _hugeAnswersEnded);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _upflow.DisposeAsync();
        await _evil.DisposeAsync();
    }

    /// <summary>The connection as Kestrel's HTTP layer sees it, counting what that layer hands to the socket.</summary>
    private sealed class CountingTransport(IDuplexPipe inner, Action<long> sent) : IDuplexPipe
    {
        public PipeReader Input => inner.Input;

        public PipeWriter Output { get; } = new CountingWriter(inner.Output, sent);

        private sealed class CountingWriter(PipeWriter inner, Action<long> sent) : PipeWriter
        {
            public override void Advance(int bytes)
            {
                sent(bytes);
                inner.Advance(bytes);
            }

            public override Memory<byte> GetMemory(int sizeHint = 0) => inner.GetMemory(sizeHint);

            public override Span<byte> GetSpan(int sizeHint = 0) => inner.GetSpan(sizeHint);

            public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default) => inner.FlushAsync(cancellationToken);

            public override void CancelPendingFlush() => inner.CancelPendingFlush();

            public override bool CanGetUnflushedBytes => inner.CanGetUnflushedBytes;

            public override long UnflushedBytes => inner.UnflushedBytes;

            public override void Complete(Exception? exception = null) => inner.Complete(exception);

            public override ValueTask CompleteAsync(Exception? exception = null) => inner.CompleteAsync(exception);
        }
    }
}
