using PortalLinkContracts;
using PortalLinkWorker.Persistence;
using PortalLinkWorker.Upflow;

namespace PortalLinkWorker.Links;

/// <summary>A <see cref="GeneratePortalLink"/> checked once: what is wrong with it (<see cref="Problem"/>, null when
/// valid) and the customer id as logs and the status page may show it. Its decisions take no I/O.</summary>
public sealed record IncomingRequest(GeneratePortalLink Message, string? Problem, string ShownCustomerId)
{
    /// <summary>What the status page and the log show for a customer id that failed validation: it may hold line breaks
    /// or megabytes.</summary>
    public const string InvalidCustomerIdShown = "(invalid)";

    public static IncomingRequest Check(GeneratePortalLink message, int maxExpiresIn) =>
        new(message, PortalLinkRequestValidator.Validate(message, maxExpiresIn),
            PortalLinkRequestValidator.ValidateCustomerId(message.CustomerId) is null ? message.CustomerId! : InvalidCustomerIdShown);

    /// <summary>The customer id as sent ("" when absent).</summary>
    public string CustomerId => Message.CustomerId ?? "";

    public bool IsValid => Problem is null;

    /// <summary>Before the database: refused without a RequestId, else its row is recorded and locked.</summary>
    public RequestDecision Start(DateTimeOffset now) =>
        Message.RequestId == Guid.Empty
            ? new RequestDecision.RejectUnrecorded(Problem!)
            : new RequestDecision.Lock(PendingRow(now), LockCustomer: IsValid);

    /// <summary>With the request's row locked: in this order, a RequestId reused for another customer, an outcome already
    /// final, an invalid request, else the Upflow call.</summary>
    public RequestDecision Decide(PortalLink stored)
    {
        // Only a valid request is compared: an invalid one's id is stored cut and cleaned (CustomerIdEcho.Stored).
        if (IsValid && stored.CustomerId != CustomerId)
            return new RequestDecision.RejectReused(
                $"RequestId {Message.RequestId} was already used for another customer; use a new RequestId for each request.");
        if (stored.IsFinal)
            return stored.Status == PortalLinkStatus.Generated && stored.Url is null
                ? new RequestDecision.ErasedLink()
                : new RequestDecision.Republish();
        if (!IsValid)
            return new RequestDecision.SaveInvalid(Problem!);
        return new RequestDecision.CallUpflow();
    }

    /// <summary>With <c>ReuseIfValidFor</c> (a valid request only): how long a stored link must stay valid, from
    /// <paramref name="now"/>, to be answered again instead of calling Upflow; null when the request wants a new link.</summary>
    public DateTimeOffset? ReusableUntil(DateTimeOffset now) =>
        IsValid && Message.ReuseIfValidFor is { } seconds ? now.AddSeconds(seconds) : null;

    /// <summary>The row a new request is recorded with: an invalid request keeps its customer id in the stored form and
    /// nothing of what would have gone to Upflow.</summary>
    public PortalLink PendingRow(DateTimeOffset now) => new()
    {
        RequestId = Message.RequestId,
        CustomerId = IsValid ? Message.CustomerId! : CustomerIdEcho.Stored(Message.CustomerId),
        CampaignId = Message.CampaignId,
        ExpiresIn = IsValid ? Message.ExpiresIn ?? UpflowOptions.DefaultExpiresInSeconds : null,
        FrameAncestors = IsValid && !string.IsNullOrEmpty(Message.FrameAncestors) ? Message.FrameAncestors : null,
        ReuseIfValidFor = IsValid ? Message.ReuseIfValidFor : null,
        CreatedAt = now,
        UpdatedAt = now,
    };
}
