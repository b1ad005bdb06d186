using Npgsql;

namespace PortalLinkWorker.Operations;

/// <summary>Settings as they may be printed: every setting and connection-string key whose name contains password,
/// secret or key replaced, except the Upflow API key, cut to its start (enough to tell two keys apart, not to use one:
/// Upflow also needs the secret).</summary>
public static class SecretMask
{
    public const string Masked = "****";
    public const string NotSet = "(not set)";

    /// <summary>Characters of an API key shown; keys shorter than <see cref="MinKeyLengthToShow"/> are hidden whole.</summary>
    private const int ShownKeyPrefix = 4;
    private const int MinKeyLengthToShow = 12;

    public static string Secret(string? value) => string.IsNullOrEmpty(value) ? NotSet : Masked;

    public static string ApiKey(string? value) =>
        string.IsNullOrEmpty(value) ? NotSet
        : value.Length < MinKeyLengthToShow ? Masked
        : $"{value[..ShownKeyPrefix]}… ({value.Length} characters)";

    /// <summary>Words that make a setting or a connection-string key a secret wherever they appear in its name
    /// (<c>Password</c>, <c>SSL Password</c>, <c>ApiSecret</c>, <c>SSL Key</c>, <c>StatusToken</c>, …), compared without case.</summary>
    public static readonly IReadOnlyList<string> SecretWords = ["password", "secret", "key", "token"];

    public static bool IsSecretName(string name) => SecretWords.Any(word => name.Contains(word, StringComparison.OrdinalIgnoreCase));

    /// <summary>An Npgsql connection string with every key whose name is a secret (<see cref="IsSecretName"/>: Password,
    /// SSL Password, SSL Key, …) masked; an unreadable one is hidden whole (it could hold a password where the parser did
    /// not expect it).</summary>
    public static string PostgresConnectionString(string? value)
    {
        if (string.IsNullOrEmpty(value))
            return NotSet;
        try
        {
            // Npgsql's builder knows each key under its canonical name (sslpassword → SSL Password).
            var builder = new NpgsqlConnectionStringBuilder(value);
            foreach (var key in builder.Keys.Cast<string>().Where(IsSecretName).ToList())
                if (builder.TryGetValue(key, out var set) && set is not null && !string.IsNullOrEmpty(set.ToString()))
                    builder[key] = Masked;
            return builder.ConnectionString;
        }
        catch (Exception e) when (e is ArgumentException or FormatException or InvalidCastException or OverflowException)
        {
            return "(not a valid connection string; not shown)";
        }
    }

    /// <summary>A URI (AMQP, HTTP) with the password of its user info masked.</summary>
    public static string Uri(string? value)
    {
        if (string.IsNullOrEmpty(value))
            return NotSet;
        if (!System.Uri.TryCreate(value, UriKind.Absolute, out var uri))
            return "(not a valid URI; not shown)";
        if (uri.UserInfo.Length == 0)
            return uri.OriginalString;
        var user = uri.UserInfo.Split(':', 2)[0];
        return new UriBuilder(uri) { UserName = user, Password = uri.UserInfo.Contains(':') ? Masked : "" }.Uri.ToString();
    }
}
