using System.Security.Cryptography;
using System.Text;

namespace PortalLinkWorker.Persistence;

/// <summary>
/// Encrypts portal URLs for storage and decrypts them back: a portal URL is a bearer credential for a customer's
/// invoices, so a database dump or a read replica must not be a key to every portal. AES-256-GCM
/// (<see cref="AesGcm"/>): a random 96-bit nonce per value, a 128-bit tag, and the row's <c>RequestId</c> as associated
/// data, so a value copied into another row does not decrypt. The stored form is versioned and names its key:
/// <c>v1:&lt;key id&gt;:&lt;base64(nonce | ciphertext | tag)&gt;</c> (<see cref="UrlKeyRing.IdOf"/>). A value not in
/// that form is a clear URL stored before encryption (<see cref="IsEncrypted"/>): <see cref="Read"/> passes it through
/// until it is re-encrypted (<see cref="NeedsReencryption"/>).
/// </summary>
public sealed class UrlProtector(UrlKeyRing keys)
{
    /// <summary>The stored form's version, and its prefix.</summary>
    public const string Version = "v1";

    private const char Separator = ':';

    /// <summary>AES-GCM's recommended nonce: 96 bits, random per value (2^32 values per key keep the collision risk
    /// far below 2^-32; a worker writes a few million a year).</summary>
    private const int NonceBytes = 12;

    /// <summary>The full 128-bit tag.</summary>
    private const int TagBytes = 16;

    /// <summary>Bound into the associated data, so a ciphertext made for another purpose under the same key never
    /// passes for a portal URL.</summary>
    private const string Purpose = "portal_links.url";

    /// <summary>This thread's cipher and the key it was made for. A new <see cref="AesGcm"/> per value (an OpenSSL
    /// context and its key schedule) was 1.8 % of the worker's CPU samples at 32 requests in flight; one instance is
    /// never used by two threads at once, and every use here is synchronous, so each thread keeps its own.</summary>
    [ThreadStatic]
    private static (UrlKeyRing.UrlKey Key, AesGcm Cipher)? _cipher;

    /// <summary>Encrypts <paramref name="url"/> for the row of <paramref name="requestId"/> under the ring's first key.</summary>
    public string Protect(string url, Guid requestId)
    {
        ArgumentException.ThrowIfNullOrEmpty(url);
        var key = keys.Current;
        var plain = Encoding.UTF8.GetBytes(url);
        var sealedValue = new byte[NonceBytes + plain.Length + TagBytes];
        var nonce = sealedValue.AsSpan(0, NonceBytes);
        RandomNumberGenerator.Fill(nonce);
        CipherFor(key).Encrypt(nonce, plain, sealedValue.AsSpan(NonceBytes, plain.Length), sealedValue.AsSpan(NonceBytes + plain.Length),
            AssociatedData(key.Id, requestId));
        CryptographicOperations.ZeroMemory(plain);
        return string.Join(Separator, Version, key.Id, Convert.ToBase64String(sealedValue));
    }

    /// <summary>Decrypts a value <see cref="Protect"/> made for the row of <paramref name="requestId"/>.</summary>
    /// <exception cref="UrlProtectionException">The key is not in the ring, the value was altered or belongs to another
    /// row, or it is not in the encrypted form.</exception>
    public string Unprotect(string stored, Guid requestId)
    {
        var parts = stored.Split(Separator);
        if (parts.Length != 3 || parts[0] != Version || !UrlKeyRing.IsKeyId(parts[1]))
            throw new UrlProtectionException(
                $"The stored portal URL of request {requestId} is not in the {Version} encrypted form this worker reads.");
        var keyId = parts[1];
        if (keys.Find(keyId) is not { } key)
            throw new UrlProtectionException(
                $"The stored portal URL of request {requestId} is encrypted under key {keyId}, which is not in {UrlKeyRing.Setting}: add that key back (after the first) to read it.");
        byte[] sealedValue;
        try
        {
            sealedValue = Convert.FromBase64String(parts[2]);
        }
        catch (FormatException e)
        {
            throw new UrlProtectionException($"The stored portal URL of request {requestId} is damaged (not base64).", e);
        }
        if (sealedValue.Length < NonceBytes + TagBytes)
            throw new UrlProtectionException($"The stored portal URL of request {requestId} is damaged (too short).");

        var cipher = sealedValue.AsSpan(NonceBytes, sealedValue.Length - NonceBytes - TagBytes);
        var plain = new byte[cipher.Length];
        try
        {
            CipherFor(key).Decrypt(sealedValue.AsSpan(0, NonceBytes), cipher, sealedValue.AsSpan(sealedValue.Length - TagBytes), plain,
                AssociatedData(keyId, requestId));
            return Encoding.UTF8.GetString(plain);
        }
        catch (AuthenticationTagMismatchException e)
        {
            throw new UrlProtectionException(
                $"The stored portal URL of request {requestId} does not authenticate under key {keyId}: it was altered, or copied from another row.", e);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plain);
        }
    }

    /// <summary>The URL a stored value stands for: decrypted when encrypted, as it is when it is a clear value stored
    /// before encryption.</summary>
    /// <exception cref="UrlProtectionException">See <see cref="Unprotect"/>.</exception>
    public string Read(string stored, Guid requestId) => IsEncrypted(stored) ? Unprotect(stored, requestId) : stored;

    /// <summary>True when <paramref name="stored"/> is in an encrypted form (<c>v&lt;digits&gt;:</c>, of this version or a
    /// later one), false for a clear URL stored before encryption: a URL starts with its scheme, never with
    /// <c>v1:</c>.</summary>
    public static bool IsEncrypted(string stored)
    {
        var colon = stored.IndexOf(Separator);
        return colon > 1 && stored[0] == 'v' && stored.AsSpan(1, colon - 1).IndexOfAnyExceptInRange('0', '9') < 0;
    }

    /// <summary>True when a stored value should be written again under the ring's first key: it is clear, or encrypted
    /// under another key (after a rotation).</summary>
    public bool NeedsReencryption(string stored) =>
        !IsEncrypted(stored) || !stored.StartsWith($"{Version}{Separator}{keys.Current.Id}{Separator}", StringComparison.Ordinal);

    /// <summary>This thread's cipher for <paramref name="key"/>, made when the thread last used another key or none.</summary>
    private static AesGcm CipherFor(UrlKeyRing.UrlKey key)
    {
        if (_cipher is { } cached && ReferenceEquals(cached.Key, key))
            return cached.Cipher;
        _cipher?.Cipher.Dispose();
        var cipher = new AesGcm(key.Key, TagBytes);
        _cipher = (key, cipher);
        return cipher;
    }

    /// <summary>Version, key id and row, with the purpose: what the tag authenticates besides the URL.</summary>
    private static byte[] AssociatedData(string keyId, Guid requestId) =>
        Encoding.UTF8.GetBytes($"{Purpose}{Separator}{Version}{Separator}{keyId}{Separator}{requestId:D}");
}
