namespace PortalLinkWorker.Operations;

/// <summary>The status page: one HTML file with its script and styles inline (no CDN: production networks may have no
/// way out), embedded in the DLL. It polls <c>/status.json</c>.</summary>
public static class StatusPage
{
    public const string ResourceName = "PortalLinkWorker.StatusPage.html";

    public static Stream Open() =>
        typeof(StatusPage).Assembly.GetManifestResourceStream(ResourceName)
        ?? throw new InvalidOperationException($"The embedded resource {ResourceName} is missing.");
}
