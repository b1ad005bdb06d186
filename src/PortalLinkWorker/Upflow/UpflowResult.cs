namespace PortalLinkWorker.Upflow;

/// <summary>What one portal-link request to Upflow came to, after retries.</summary>
public abstract record UpflowResult
{
    private UpflowResult() { }

    /// <summary>Upflow issued a link. <see cref="Url"/> is a bearer credential: never log it.</summary>
    public sealed record Issued(string Url, DateTimeOffset ExpiresAt, DateTimeOffset IssuedAt) : UpflowResult;

    /// <summary>Upflow will never issue a link for this request as it stands (404, 4xx), or could not be reached until the
    /// retries ran out. <see cref="Reason"/> is a <c>PortalLinkFailureReason</c> constant.</summary>
    public sealed record Refused(string Reason, string Message, int? StatusCode) : UpflowResult
    {
        /// <summary>Upflow could not be reached or kept failing (no status, 5xx, 408): it may be down for everyone.</summary>
        public bool IsTransient => Reason == PortalLinkContracts.PortalLinkFailureReason.UpflowUnavailable && StatusCode is null or >= 500 or 408;
    }
}
