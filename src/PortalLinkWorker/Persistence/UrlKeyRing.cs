using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Security.Cryptography;

namespace PortalLinkWorker.Persistence;

/// <summary>
/// The keys portal URLs are encrypted under, parsed from <c>Database:UrlKeys</c> (<see cref="UrlKeyOptions.UrlKeys"/>):
/// one or more base64-encoded 256-bit keys separated by commas. The first encrypts new values; every one decrypts, so a
/// key is rotated without downtime by putting a new one first (and, once the stored rows are re-encrypted, dropping the
/// old one). Each key is known by an <see cref="UrlKey.Id"/> that names it without revealing it.
/// </summary>
public sealed class UrlKeyRing
{
    /// <summary>The setting, as operators write it.</summary>
    public const string Setting = "Database:UrlKeys";

    /// <summary>The same, as an environment variable.</summary>
    public const string EnvironmentVariable = "Database__UrlKeys";

    /// <summary>AES-256: the only key size accepted.</summary>
    public const int KeyBytes = 32;

    /// <summary>Hex digits of SHA-256(key) in a key id: 32 bits, enough to tell a handful of keys apart, and nothing
    /// about the key (a hash of 256 random bits).</summary>
    private const int KeyIdHexDigits = 8;

    private const char Separator = ',';

    private const string HowToGenerate = "generate one with `openssl rand -base64 32`";

    private readonly Dictionary<string, UrlKey> _byId;

    private UrlKeyRing(IReadOnlyList<UrlKey> keys)
    {
        Keys = keys;
        _byId = keys.ToDictionary(k => k.Id, StringComparer.Ordinal);
    }

    /// <summary>One key and its id. <see cref="Key"/> is secret: never log it.</summary>
    public sealed record UrlKey(string Id, byte[] Key);

    /// <summary>In the setting's order.</summary>
    public IReadOnlyList<UrlKey> Keys { get; }

    /// <summary>The key new values are encrypted under: the first.</summary>
    public UrlKey Current => Keys[0];

    /// <summary>The key with this id, or null when the ring has none.</summary>
    public UrlKey? Find(string id) => _byId.GetValueOrDefault(id);

    /// <summary>The id of <paramref name="key"/>: the first 8 hex digits of its SHA-256, lower case.</summary>
    public static string IdOf(ReadOnlySpan<byte> key) =>
        Convert.ToHexStringLower(SHA256.HashData(key))[..KeyIdHexDigits];

    /// <summary>True when <paramref name="id"/> has the form of a key id.</summary>
    internal static bool IsKeyId(ReadOnlySpan<char> id) =>
        id.Length == KeyIdHexDigits && id.IndexOfAnyExcept("0123456789abcdef") < 0;

    /// <summary>Parses <paramref name="setting"/>; on failure, <paramref name="problems"/> says what is wrong, one line
    /// each, naming the setting and the key's position, never any part of a key.</summary>
    public static bool TryParse(string? setting, [NotNullWhen(true)] out UrlKeyRing? ring, out IReadOnlyList<string> problems)
    {
        ring = null;
        if (string.IsNullOrWhiteSpace(setting))
        {
            problems = [$"{Setting} is missing (environment variable {EnvironmentVariable}): one or more base64-encoded 256-bit keys separated by commas, the first encrypting portal URLs; {HowToGenerate}."];
            return false;
        }

        var found = new List<string>();
        var keys = new List<UrlKey>();
        var entries = setting.Split(Separator, StringSplitOptions.TrimEntries);
        for (var i = 0; i < entries.Length; i++)
        {
            var position = (i + 1).ToString(CultureInfo.InvariantCulture);
            var entry = entries[i];
            if (entry.Length == 0)
            {
                found.Add($"Key {position} of {Setting} is empty (environment variable {EnvironmentVariable}): keys are separated by single commas, with none left over.");
                continue;
            }
            // Decoded into a buffer of a fixed size: a wrong length says nothing of the key but its length.
            var buffer = new byte[(entry.Length * 3 / 4) + 3];
            if (!Convert.TryFromBase64String(entry, buffer, out var length))
            {
                found.Add($"Key {position} of {Setting} is not base64 (environment variable {EnvironmentVariable}; the value is not shown); {HowToGenerate}.");
                continue;
            }
            if (length != KeyBytes)
            {
                CryptographicOperations.ZeroMemory(buffer);
                found.Add($"Key {position} of {Setting} is {length} bytes; it must be {KeyBytes} (256 bits) (environment variable {EnvironmentVariable}; the value is not shown); {HowToGenerate}.");
                continue;
            }
            var key = buffer[..KeyBytes];
            CryptographicOperations.ZeroMemory(buffer);
            if (!key.AsSpan().ContainsAnyExcept((byte)0))
            {
                found.Add($"Key {position} of {Setting} is all zeros, not a key (environment variable {EnvironmentVariable}); {HowToGenerate}.");
                continue;
            }
            var id = IdOf(key);
            if (keys.FindIndex(k => k.Id == id) is var earlier and >= 0)
            {
                found.Add(CryptographicOperations.FixedTimeEquals(keys[earlier].Key, key)
                    ? $"Key {position} of {Setting} repeats key {earlier + 1} (id {id}) (environment variable {EnvironmentVariable}): list each key once."
                    : $"Key {position} of {Setting} has the same id ({id}) as key {earlier + 1} (environment variable {EnvironmentVariable}): {HowToGenerate} instead.");
                continue;
            }
            keys.Add(new UrlKey(id, key));
        }

        problems = found;
        if (found.Count > 0)
            return false;
        ring = new UrlKeyRing(keys);
        return true;
    }
}
