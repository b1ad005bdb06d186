using PortalLinkWorker.Input;

namespace PortalLinkWorker.Links;

/// <summary>
/// How a request's CustomerId is stored and echoed when it may be anything a publisher sent: megabytes, NUL, line
/// breaks, half a surrogate pair. A valid id (at most <see cref="PortalLinkRequestValidator.MaxCustomerIdLength"/>
/// characters, nothing unsafe) is kept and echoed exactly as it came.
/// </summary>
public static class CustomerIdEcho
{
    /// <summary>UTF-8 bytes of an invalid CustomerId kept in <c>portal_links.customer_id</c>. The column is indexed, and a
    /// btree entry holds at most about 2,700 bytes (<c>54000: index row size exceeds btree maximum</c>); a valid id takes
    /// at most 768 (256 UTF-16 units of up to 3 bytes).</summary>
    public const int MaxStoredBytes = 1024;

    /// <summary>What the row keeps: a valid id as it is, an invalid one cut to <see cref="MaxStoredBytes"/> UTF-8 bytes
    /// with NUL and lone surrogates replaced.</summary>
    public static string Stored(string? customerId) =>
        PortalLinkRequestValidator.ValidateCustomerId(customerId) is null ? customerId! : UntrustedText.CutToUtf8Bytes(customerId ?? "", MaxStoredBytes);

    /// <summary>What <c>PortalLinkFailed.CustomerId</c> carries: a valid id as it is, an invalid one cleaned and cut to
    /// <see cref="UntrustedText.MaxEchoLength"/> characters (a 5 MB id was echoed whole before).</summary>
    public static string Echoed(string? customerId) =>
        PortalLinkRequestValidator.ValidateCustomerId(customerId) is null ? customerId! : UntrustedText.Clean(customerId);
}
