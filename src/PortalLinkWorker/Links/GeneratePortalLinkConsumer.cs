using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using PortalLinkContracts;
using PortalLinkWorker.Persistence;
using PortalLinkWorker.Upflow;

namespace PortalLinkWorker.Links;

/// <summary>
/// validate → record pending → lock the row → call Upflow → save the outcome → commit → publish.
/// The outcome is saved before it is published and the message is acknowledged after both, so a crash anywhere makes
/// RabbitMQ redeliver and the redelivery either finishes the work or re-publishes the saved outcome
/// (docs/design.md lists each crash window).
/// </summary>
public sealed partial class GeneratePortalLinkConsumer(
    PortalLinkDbContext db,
    PortalLinkStore store,
    UpflowClient upflow,
    IOptions<UpflowOptions> upflowOptions,
    TimeProvider time,
    ILogger<GeneratePortalLinkConsumer> logger) : IConsumer<GeneratePortalLink>
{
    /// <summary>How much of an unusable CustomerId is kept in the row (PostgreSQL text cannot hold NUL either).</summary>
    private const int MaxStoredInvalidCustomerId = 1024;

    public async Task Consume(ConsumeContext<GeneratePortalLink> context)
    {
        var request = context.Message;
        var customerId = request.CustomerId ?? "";
        var ct = context.CancellationToken;
        var problem = PortalLinkRequestValidator.Validate(request, upflowOptions.Value.MaxExpiresIn);
        using var scope = logger.BeginScope(new Dictionary<string, object?>
        {
            ["RequestId"] = request.RequestId,
            // An invalid id may hold newlines or megabytes: it does not go into the log as it is.
            ["CustomerId"] = PortalLinkRequestValidator.ValidateCustomerId(customerId) is null ? customerId : "(invalid)",
            ["CampaignId"] = request.CampaignId,
        });

        if (request.RequestId == Guid.Empty)
        {
            // Without an idempotency key there is nothing to record the outcome under.
            LogInvalid(logger, problem!);
            await context.Publish(new PortalLinkFailed(request.RequestId, customerId, PortalLinkFailureReason.InvalidRequest,
                problem!, time.GetUtcNow(), request.CampaignId), ct);
            return;
        }

        await store.RecordPendingAsync(NewRow(request, problem is null, Now()), ct);

        await using var transaction = await db.Database.BeginTransactionAsync(ct);
        var link = await store.LockAsync(request.RequestId, ct);
        if (link.IsFinal)
        {
            await transaction.CommitAsync(ct);
            LogRepublished(logger, link.Status);
            await PublishOutcome(context, link, link.CustomerId);
            return;
        }

        if (problem is not null)
        {
            LogInvalid(logger, problem);
            MarkFailed(link, PortalLinkFailureReason.InvalidRequest, problem);
        }
        else
        {
            var expiresIn = request.ExpiresIn ?? UpflowOptions.DefaultExpiresInSeconds;
            switch (await upflow.CreatePortalLinkAsync(customerId, expiresIn, request.FrameAncestors, ct))
            {
                case UpflowResult.Issued issued:
                    link.Status = PortalLinkStatus.Generated;
                    link.Url = issued.Url;
                    link.ExpiresAt = PostgresTime.Truncate(issued.ExpiresAt);
                    link.GeneratedAt = PostgresTime.Truncate(issued.IssuedAt);
                    link.UpdatedAt = Now();
                    LogGenerated(logger, link.ExpiresAt.Value);
                    break;
                case UpflowResult.Refused refused:
                    LogRefused(logger, refused.Reason, refused.Message);
                    MarkFailed(link, refused.Reason, refused.Message);
                    break;
            }
        }

        await store.SaveAsync(ct);
        await transaction.CommitAsync(ct);
        // Crash window: the outcome is committed but not yet published; the redelivery re-publishes it.
        await PublishOutcome(context, link, customerId);
    }

    private DateTimeOffset Now() => PostgresTime.Truncate(time.GetUtcNow());

    private void MarkFailed(PortalLink link, string reason, string message)
    {
        link.Status = PortalLinkStatus.Failed;
        link.FailureReason = reason;
        link.FailureMessage = message;
        link.FailedAt = link.UpdatedAt = Now();
    }

    private static Task PublishOutcome(ConsumeContext context, PortalLink link, string customerId) =>
        link.Status == PortalLinkStatus.Generated
            ? context.Publish(new PortalLinkGenerated(link.RequestId, customerId, link.Url!, link.ExpiresAt!.Value,
                link.GeneratedAt!.Value, link.CampaignId), context.CancellationToken)
            : context.Publish(new PortalLinkFailed(link.RequestId, customerId, link.FailureReason!, link.FailureMessage!,
                link.FailedAt!.Value, link.CampaignId), context.CancellationToken);

    private static PortalLink NewRow(GeneratePortalLink request, bool valid, DateTimeOffset now) => new()
    {
        RequestId = request.RequestId,
        CustomerId = valid ? request.CustomerId : Storable(request.CustomerId ?? ""),
        CampaignId = request.CampaignId,
        ExpiresIn = valid ? request.ExpiresIn ?? UpflowOptions.DefaultExpiresInSeconds : null,
        FrameAncestors = valid && !string.IsNullOrEmpty(request.FrameAncestors) ? request.FrameAncestors : null,
        CreatedAt = now,
        UpdatedAt = now,
    };

    private static string Storable(string customerId)
    {
        var cut = customerId.Length > MaxStoredInvalidCustomerId ? customerId[..MaxStoredInvalidCustomerId] : customerId;
        return cut.Replace('\0', '\uFFFD');
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Portal link generated, valid until {ExpiresAt:O}")]
    private static partial void LogGenerated(ILogger logger, DateTimeOffset expiresAt);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Portal link failed: {Reason}: {Detail}")]
    private static partial void LogRefused(ILogger logger, string reason, string detail);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Request rejected before calling Upflow: {Problem}")]
    private static partial void LogInvalid(ILogger logger, string problem);

    [LoggerMessage(Level = LogLevel.Information, Message = "Request already {Status}; re-publishing the stored outcome without calling Upflow")]
    private static partial void LogRepublished(ILogger logger, string status);
}
