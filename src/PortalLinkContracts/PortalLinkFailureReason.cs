namespace PortalLinkContracts;

/// <summary>The values of <see cref="PortalLinkFailed.Reason"/>.</summary>
public static class PortalLinkFailureReason
{
    /// <summary>The request was rejected before calling Upflow (bad CustomerId, ExpiresIn or FrameAncestors, empty RequestId).</summary>
    public const string InvalidRequest = nameof(InvalidRequest);

    /// <summary>Upflow answered 404: no customer with that id.</summary>
    public const string CustomerNotFound = nameof(CustomerNotFound);

    /// <summary>Upflow refused the request with another non-retryable 4xx.</summary>
    public const string Rejected = nameof(Rejected);

    /// <summary>Upflow could not be reached or kept failing until the retries ran out.</summary>
    public const string UpflowUnavailable = nameof(UpflowUnavailable);
}
