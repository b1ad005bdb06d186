using System.Text.Json.Serialization;

namespace UpflowSimulator;

/// <summary>How the simulator writes <c>Retry-After</c> on its 429 answers (RFC 9110 §10.2.3 allows both forms).</summary>
[JsonConverter(typeof(JsonStringEnumConverter<RetryAfterFormat>))]
public enum RetryAfterFormat
{
    /// <summary>Whole seconds, rounded up, at least 1: <c>Retry-After: 2</c>.</summary>
    Seconds,

    /// <summary>An HTTP-date (RFC 1123) of now plus the wait, rounded up to the next whole second: <c>Retry-After: Tue, 01 Dec 2026 16:40:03 GMT</c>.</summary>
    HttpDate,

    /// <summary>No <c>Retry-After</c> header.</summary>
    None,
}
