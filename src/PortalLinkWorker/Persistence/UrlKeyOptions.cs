using Microsoft.Extensions.Options;

namespace PortalLinkWorker.Persistence;

/// <summary>The <c>Database:UrlKeys</c> setting, apart from <see cref="DatabaseOptions"/> so that it is validated (and
/// required) where it is registered: <c>AddOptions&lt;UrlKeyOptions&gt;().BindConfiguration(UrlKeyOptions.Section)</c>
/// with <see cref="UrlKeyOptionsValidator"/> and <c>ValidateOnStart()</c>.</summary>
public sealed class UrlKeyOptions
{
    /// <summary>The section it is bound from: <c>Database</c>, beside the other database settings.</summary>
    public const string Section = DatabaseOptions.Section;

    /// <summary>The keys portal URLs are stored encrypted under (AES-256-GCM): one or more base64-encoded 256-bit keys
    /// separated by commas (<c>openssl rand -base64 32</c> makes one). The first encrypts new rows; every one decrypts,
    /// so a key is rotated without downtime by putting the new one first. Required: a worker without a key does not
    /// start. Secret: never logged or shown, only each key's id (<see cref="UrlKeyRing.IdOf"/>).</summary>
    public string? UrlKeys { get; set; }

    // A reference, replaced whole: readers on other threads never see half of it.
    private Tuple<string, UrlKeyRing>? _ring;

    /// <summary><see cref="UrlKeys"/> as a key ring, parsed once (validated at start, so it parses).</summary>
    public UrlKeyRing Ring
    {
        get
        {
            if (_ring is { } cached && ReferenceEquals(cached.Item1, UrlKeys))
                return cached.Item2;
            if (!UrlKeyRing.TryParse(UrlKeys, out var ring, out var problems))
                throw new InvalidOperationException(string.Join(" ", problems));
            _ring = Tuple.Create(UrlKeys!, ring);
            return ring;
        }
    }
}

/// <summary>Refuses a missing or malformed <c>Database:UrlKeys</c>, naming the setting and the key's position, never
/// any part of a key.</summary>
public sealed class UrlKeyOptionsValidator : IValidateOptions<UrlKeyOptions>
{
    public ValidateOptionsResult Validate(string? name, UrlKeyOptions options) =>
        UrlKeyRing.TryParse(options.UrlKeys, out _, out var problems)
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail(problems);
}
