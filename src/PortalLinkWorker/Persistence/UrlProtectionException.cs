namespace PortalLinkWorker.Persistence;

/// <summary>A stored portal URL could not be decrypted: its key is not in <c>Database:UrlKeys</c>, it was altered, it was
/// copied from another row, or it is not in a format this worker reads. The message names the request and the key id,
/// never the key, the ciphertext or the URL.</summary>
public sealed class UrlProtectionException(string message, Exception? inner = null) : Exception(message, inner);
