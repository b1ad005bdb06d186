namespace PortalLinkWorker.Upflow;

/// <summary>Builds the request path for a customer id so that Upflow receives exactly that id.</summary>
public static class UpflowCustomerPath
{
    /// <summary>Upflow addresses a customer by its own id, or by the ERP's id written <c>external:ERP-ID</c>.</summary>
    public const string ExternalPrefix = "external:";

    /// <summary>
    /// <c>external:ACME/42 #1</c> becomes <c>customers/external:ACME%2F42%20%231/portal</c>. The colon after
    /// <c>external</c> stays literal (RFC 3986 allows it in a path segment, and Upflow's guide writes it so); everything
    /// after it is escaped as one segment, so '/', '?', '#' and '%' cannot change the path.
    /// </summary>
    public static string PortalPath(string customerId)
    {
        var segment = customerId.StartsWith(ExternalPrefix, StringComparison.Ordinal)
            ? ExternalPrefix + Uri.EscapeDataString(customerId[ExternalPrefix.Length..])
            : Uri.EscapeDataString(customerId);
        return $"customers/{segment}/portal";
    }
}
