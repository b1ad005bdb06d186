using System.Text;
using System.Text.Json;
using PortalLinkWorker.Input;

namespace PortalLinkWorker.Links;

/// <summary>
/// RequestId, CustomerId and CampaignId of a GeneratePortalLink body that could not be read into the contract (a field
/// of the wrong type, half a surrogate pair, a body over the size limit), read leniently from a MassTransit envelope's
/// <c>message</c> or from a plain JSON body. One forward pass of <see cref="Utf8JsonReader"/>: nothing the size of the
/// body is allocated, so a 20 MB body costs a scan, not a 40 MB string and a JSON tree.
/// </summary>
/// <param name="RequestId">Never empty.</param>
/// <param name="CustomerId">As sent when it could be read whole and short; else its raw (escaped) JSON text, cut.
/// Either way only fit for <see cref="CustomerIdEcho"/>, never for a call.</param>
/// <param name="CampaignId">Null when absent or not a UUID.</param>
public sealed record RequestKeys(Guid RequestId, string CustomerId, Guid? CampaignId)
{
    /// <summary>A string value longer than this (in the body's bytes) is not materialised: a valid CustomerId takes at
    /// most 256 characters of up to 6 bytes each (<c>\uXXXX</c>).</summary>
    private const int MaxReadValueBytes = PortalLinkRequestValidator.MaxCustomerIdLength * 6;

    /// <summary>The envelope property that holds the message itself.</summary>
    private const string EnvelopeMessage = "message";

    /// <summary>Null when the body is not a JSON object with a usable RequestId.</summary>
    public static RequestKeys? Read(ReadOnlySpan<byte> body)
    {
        var inner = new Found();
        var root = new Found();
        var envelope = false;
        try
        {
            var reader = new Utf8JsonReader(body);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
                return null;
            var inMessage = false;
            while (reader.Read())
            {
                if (reader.TokenType == JsonTokenType.EndObject && inMessage && reader.CurrentDepth == 1)
                {
                    inMessage = false;
                    continue;
                }
                if (reader.TokenType != JsonTokenType.PropertyName)
                    continue;
                var name = ShortName(ref reader);
                if (!reader.Read())
                    return null;
                if (!inMessage && reader.CurrentDepth == 1 && reader.TokenType == JsonTokenType.StartObject &&
                    string.Equals(name, EnvelopeMessage, StringComparison.OrdinalIgnoreCase))
                {
                    inMessage = envelope = true;
                    continue;
                }
                if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray)
                {
                    reader.Skip();
                    continue;
                }
                if (reader.TokenType == JsonTokenType.String && name is not null)
                    (inMessage ? inner : root).Take(name, ref reader);
            }
        }
        catch (JsonException)
        {
            return null;
        }
        var keys = envelope ? inner : root;
        return keys.RequestId is { } requestId && requestId != Guid.Empty
            ? new RequestKeys(requestId, keys.CustomerId ?? "", keys.CampaignId)
            : null;
    }

    /// <summary>Longer property names are none of ours and are not allocated.</summary>
    private const int MaxNameBytes = 64;

    /// <summary>A property name short enough to be one of ours, else null.</summary>
    private static string? ShortName(ref Utf8JsonReader reader)
    {
        if (reader.ValueSpan.Length > MaxNameBytes)
            return null;
        try
        {
            return reader.GetString();
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }

    private sealed class Found
    {
        public Guid? RequestId;
        public string? CustomerId;
        public Guid? CampaignId;

        public void Take(string name, ref Utf8JsonReader reader)
        {
            if (string.Equals(name, "requestId", StringComparison.OrdinalIgnoreCase))
                RequestId = Guid.TryParse(Value(ref reader), out var id) ? id : null;
            else if (string.Equals(name, "customerId", StringComparison.OrdinalIgnoreCase))
                CustomerId = Value(ref reader);
            else if (string.Equals(name, "campaignId", StringComparison.OrdinalIgnoreCase))
                CampaignId = Guid.TryParse(Value(ref reader), out var id) ? id : null;
        }

        /// <summary>The string, or — when it is too long or not text (a lone surrogate) — the start of its raw JSON.</summary>
        private static string Value(ref Utf8JsonReader reader)
        {
            var raw = reader.ValueSpan;
            if (raw.Length <= MaxReadValueBytes)
            {
                try
                {
                    return reader.GetString() ?? "";
                }
                catch (InvalidOperationException)
                {
                    // Not text (a lone surrogate): fall through to the raw, escaped form.
                }
            }
            return UntrustedText.Clean(Encoding.UTF8.GetString(raw[..Math.Min(raw.Length, MaxReadValueBytes)]), MaxReadValueBytes);
        }
    }
}
