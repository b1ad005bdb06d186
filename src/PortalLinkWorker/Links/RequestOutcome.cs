using System.Globalization;
using PortalLinkContracts;
using PortalLinkWorker.Persistence;
using PortalLinkWorker.Upflow;

namespace PortalLinkWorker.Links;

/// <summary>What a request's row and events become, with no I/O: Upflow's answer applied to the row, the event a final
/// row is published as, and when a message handed back for an outage first tried Upflow.</summary>
public static class RequestOutcome
{
    /// <summary>Header of a message handed back for an outage: when it first tried Upflow (ISO 8601, round-trip).</summary>
    public const string FirstTriedAtHeader = "PortalLink-FirstTriedAt";

    /// <summary>Makes the row final with Upflow's answer. <paramref name="now"/> is cut to PostgreSQL's microsecond.
    /// A <see cref="UpflowAnswer.Paused"/> has no outcome to save.</summary>
    public static void Apply(PortalLink link, UpflowAnswer answer, DateTimeOffset now)
    {
        switch (answer)
        {
            case UpflowAnswer.Issued issued:
                link.Status = PortalLinkStatus.Generated;
                link.Url = issued.Url;
                link.ExpiresAt = PostgresTime.Truncate(issued.ExpiresAt);
                link.GeneratedAt = PostgresTime.Truncate(issued.IssuedAt);
                link.UpdatedAt = now;
                break;
            case UpflowAnswer.Refused refused:
                MarkFailed(link, refused.Reason, refused.Message, now);
                break;
            case UpflowAnswer.Unavailable unavailable:
                MarkFailed(link, PortalLinkFailureReason.UpflowUnavailable, unavailable.Message, now);
                break;
            default:
                throw new InvalidOperationException($"No outcome to save for {answer.GetType().Name}.");
        }
    }

    /// <summary>Makes the row final with a link generated for an earlier request: the same URL, expiry and issue time,
    /// and the request Upflow issued it for (the origin of a chain of reuses, never a reused row).</summary>
    public static void ApplyReuse(PortalLink link, PortalLink origin, DateTimeOffset now)
    {
        if (origin.Status != PortalLinkStatus.Generated || origin.Url is null || origin.ExpiresAt is null || origin.GeneratedAt is null)
            throw new InvalidOperationException($"Request {origin.RequestId} has no link to reuse.");
        link.Status = PortalLinkStatus.Generated;
        link.Url = origin.Url;
        link.ExpiresAt = origin.ExpiresAt;
        link.GeneratedAt = origin.GeneratedAt;
        link.ReusedFrom = origin.ReusedFrom ?? origin.RequestId;
        link.UpdatedAt = now;
    }

    public static void MarkFailed(PortalLink link, string reason, string message, DateTimeOffset now)
    {
        link.Status = PortalLinkStatus.Failed;
        link.FailureReason = reason;
        link.FailureMessage = message;
        link.FailedAt = link.UpdatedAt = now;
    }

    /// <summary>The event a final row is published as. A failure echoes the customer id in its safe form
    /// (<see cref="CustomerIdEcho.Echoed"/>).</summary>
    public static object Event(PortalLink link, string customerId) =>
        link.Status == PortalLinkStatus.Generated
            ? new PortalLinkGenerated(link.RequestId, customerId, link.Url!, link.ExpiresAt!.Value, link.GeneratedAt!.Value, link.CampaignId)
            : new PortalLinkFailed(link.RequestId, CustomerIdEcho.Echoed(customerId), link.FailureReason!, link.FailureMessage!,
                link.FailedAt!.Value, link.CampaignId);

    /// <summary>The InvalidRequest failure of a request that is not saved (no RequestId, or one reused for another customer).</summary>
    public static PortalLinkFailed Rejected(GeneratePortalLink request, string problem, DateTimeOffset at) =>
        new(request.RequestId, CustomerIdEcho.Echoed(request.CustomerId ?? ""), PortalLinkFailureReason.InvalidRequest, problem, at,
            request.CampaignId);

    /// <summary>When an earlier delivery first tried Upflow before handing the message back for an outage; null when the
    /// header is absent, unreadable, or in the future (a publisher may set any header).</summary>
    public static DateTimeOffset? FirstTriedAt(string? header, DateTimeOffset now) =>
        header is not null &&
        DateTimeOffset.TryParseExact(header, "O", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at) && at <= now
            ? at
            : null;

    public static string FirstTriedAtValue(DateTimeOffset at) => at.ToString("O", CultureInfo.InvariantCulture);

    /// <summary>Since when this request has found Upflow unavailable: its first try in this delivery or in one handed
    /// back before, whichever is earlier.</summary>
    public static DateTimeOffset UnavailableSince(DateTimeOffset? firstTriedAt, UpflowAnswer.Unavailable unavailable) =>
        firstTriedAt < unavailable.FirstAttemptAt ? firstTriedAt.Value : unavailable.FirstAttemptAt;
}
