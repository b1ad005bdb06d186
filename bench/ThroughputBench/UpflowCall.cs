using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace ThroughputBench;

/// <summary>The one HTTP call of the baselines: the worker's request (same path escaping, headers and body) with a plain
/// HttpClient, no resilience pipeline.</summary>
internal sealed class UpflowCall : IDisposable
{
    public const string ApiKey = "perf-key";
    public const string ApiSecret = "perf-secret-41c9";
    public const int DefaultExpiresIn = 86_400;
    private const string ExternalPrefix = "external:";

    private static readonly MediaTypeHeaderValue Json = new("application/json");
    private readonly HttpClient _http;

    public UpflowCall(string simulatorUrl)
    {
        _http = new HttpClient { BaseAddress = new Uri(simulatorUrl.TrimEnd('/') + "/v1/"), Timeout = TimeSpan.FromSeconds(30) };
        _http.DefaultRequestHeaders.Add("X-Api-Key", ApiKey);
        _http.DefaultRequestHeaders.Add("X-Api-Secret", ApiSecret);
        _http.DefaultRequestHeaders.Accept.ParseAdd("application/json");
    }

    /// <summary>POSTs for a link and returns its URL; throws on anything but a 2xx with a url.</summary>
    public async Task<string> CreatePortalLinkAsync(string customerId, int expiresIn, CancellationToken cancellationToken = default)
    {
        var segment = customerId.StartsWith(ExternalPrefix, StringComparison.Ordinal)
            ? ExternalPrefix + Uri.EscapeDataString(customerId[ExternalPrefix.Length..])
            : Uri.EscapeDataString(customerId);
        var body = JsonSerializer.SerializeToUtf8Bytes(new PortalRequestBody(expiresIn));
        using var content = new ByteArrayContent(body) { Headers = { ContentType = Json } };
        using var response = await _http.PostAsync($"customers/{segment}/portal", content, cancellationToken);
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        if (!response.IsSuccessStatusCode)
            throw new HttpRequestException($"simulator answered {(int)response.StatusCode}: {text}");
        using var answer = JsonDocument.Parse(text);
        return answer.RootElement.GetProperty("url").GetString() ?? throw new HttpRequestException("no url");
    }

    public void Dispose() => _http.Dispose();

    private sealed record PortalRequestBody([property: JsonPropertyName("expiresIn")] int ExpiresIn);
}
