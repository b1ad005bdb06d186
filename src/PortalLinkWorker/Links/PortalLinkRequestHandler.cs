using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using PortalLinkContracts;
using PortalLinkWorker.Campaigns;
using PortalLinkWorker.Persistence;
using PortalLinkWorker.Upflow;

namespace PortalLinkWorker.Links;

/// <summary>
/// validate → record pending → lock the row → call Upflow → save the outcome → commit → publish.
/// The outcome is saved before it is published and the message is acknowledged after both, so a crash anywhere makes
/// RabbitMQ redeliver and the redelivery either finishes the work or re-publishes the saved outcome
/// (docs/design.md lists each crash window). A campaign item's outcome moves its campaign's counts in the same
/// transaction, and the transaction that finishes a campaign's last item publishes its completion after the commit.
/// Both lanes (<see cref="GeneratePortalLinkConsumer"/>, <see cref="GeneratePortalLinkBulkConsumer"/>) run this.
/// </summary>
public sealed partial class PortalLinkRequestHandler(
    PortalLinkDbContext db,
    PortalLinkStore store,
    CampaignStore campaigns,
    CampaignCompletion completion,
    UpflowClient upflow,
    UpflowProbe probe,
    UpflowAvailability availability,
    ConsumptionSwitch consumption,
    IOptions<UpflowOptions> upflowOptions,
    IOptions<DatabaseOptions> databaseOptions,
    TimeProvider time,
    ILogger<PortalLinkRequestHandler> logger)
{
    /// <summary>How much of an unusable CustomerId is kept in the row (PostgreSQL text cannot hold NUL either).</summary>
    private const int MaxStoredInvalidCustomerId = 1024;

    public async Task HandleAsync(ConsumeContext<GeneratePortalLink> context, UpflowLane lane)
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
        try
        {
            await ProcessAsync(context, request, customerId, problem, lane, ct);
        }
        catch (Exception e) when (!ct.IsCancellationRequested && IsDatabaseUnavailable(e))
        {
            // PostgreSQL is down or restarting: not this message's fault, and MassTransit's short retries would push it
            // to the error queue. Whatever was not committed is rolled back; the message waits in the queue.
            LogDatabaseUnavailable(logger, e.GetBaseException().Message, databaseOptions.Value.OutagePause.TotalSeconds);
            await HandBackAsync(context, time.GetUtcNow() + databaseOptions.Value.OutagePause);
        }
    }

    private async Task ProcessAsync(ConsumeContext<GeneratePortalLink> context, GeneratePortalLink request, string customerId,
        string? problem, UpflowLane lane, CancellationToken ct)
    {
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
        if (problem is null && link.CustomerId != customerId)
        {
            // The publisher reused a RequestId for another customer: answering with the stored outcome would hand one
            // customer's link to another. The stored request is left as it is.
            await transaction.CommitAsync(ct);
            var reused = $"RequestId {request.RequestId} was already used for another customer; use a new RequestId for each request.";
            LogInvalid(logger, reused);
            await context.Publish(new PortalLinkFailed(request.RequestId, customerId, PortalLinkFailureReason.InvalidRequest,
                reused, Now(), request.CampaignId), ct);
            return;
        }
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
            // Never two calls for the same customer at once, in any replica (Upflow asks clients not to work on two
            // entities of one customer at a time); the lock ends with the transaction, or with the session on a crash.
            await store.LockCustomerAsync(customerId, ct);
            var (result, paused) = await CallUpflowAsync(request, customerId, lane, ct);
            if (paused is not null)
            {
                // Upflow calls are paused: no outcome. The row stays pending, the message goes back to the queue.
                await transaction.RollbackAsync(ct);
                await HandBackAsync(context, paused.Until);
                return;
            }
            switch (result)
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
        var campaignCompleted = request.CampaignId is null ? null : await campaigns.RecordOutcomeAsync(request.RequestId, link.Status, ct);
        await transaction.CommitAsync(ct);
        // Crash window: the outcome is committed but not yet published; the redelivery re-publishes it.
        await PublishOutcome(context, link, customerId);
        // Crash window: the campaign is completed but its event not published; every worker's sweep publishes it.
        if (campaignCompleted is { } campaignId)
            await completion.PublishAsync(campaignId, context, skipLocked: false, ct);
    }

    /// <summary>The Upflow outcome, or null when Upflow calls are paused and the message must wait in the queue: a long
    /// 429 pause, refused credentials, or an outage. A message whose retries ran out fails as UpflowUnavailable only when
    /// a probe shows that Upflow answers others: no message fails because Upflow is down for everyone.</summary>
    private async Task<(UpflowResult? Result, UpflowPausedException? Paused)> CallUpflowAsync(
        GeneratePortalLink request, string customerId, UpflowLane lane, CancellationToken ct)
    {
        try
        {
            var result = await upflow.CreatePortalLinkAsync(request.RequestId, customerId,
                request.ExpiresIn ?? UpflowOptions.DefaultExpiresInSeconds, request.FrameAncestors, lane, ct);
            if (result is UpflowResult.Refused { IsTransient: true })
            {
                switch (await probe.ProbeAsync(ct))
                {
                    case UpflowProbe.Answer.Down:
                        availability.ReportOutage();
                        return Paused(new UpflowPausedException("Upflow is down for everyone", null));
                    case UpflowProbe.Answer.CredentialsRejected:
                        availability.ReportCredentialsRejected((int)System.Net.HttpStatusCode.Unauthorized);
                        return Paused(new UpflowPausedException("Upflow refused the credentials", null));
                }
            }
            return (result, null);
        }
        catch (UpflowPausedException paused)
        {
            return Paused(paused);
        }
    }

    private (UpflowResult?, UpflowPausedException?) Paused(UpflowPausedException paused)
    {
        LogHandedBack(logger, paused.Message);
        return (null, paused);
    }

    /// <summary>Puts the message back at the tail of its queue (sent before this delivery is acknowledged, so a crash in
    /// between duplicates it at worst) and stops consuming until <paramref name="until"/>, or until Upflow answers
    /// again when that is null.</summary>
    private async Task HandBackAsync(ConsumeContext<GeneratePortalLink> context, DateTimeOffset? until)
    {
        await context.Send(context.ReceiveContext.InputAddress, context.Message);
        consumption.Pause(until);
    }

    private static bool IsDatabaseUnavailable(Exception e)
    {
        for (var inner = e; inner is not null; inner = inner.InnerException)
            if (inner is Npgsql.NpgsqlException { IsTransient: true })
                return true;
        return false;
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

    [LoggerMessage(Level = LogLevel.Warning, Message = "PostgreSQL is unavailable ({Error}): the message goes back to the queue and consumption pauses for {Seconds:0.#} s")]
    private static partial void LogDatabaseUnavailable(ILogger logger, string error, double seconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "Back to the queue, consumption paused: {Why}")]
    private static partial void LogHandedBack(ILogger logger, string why);

    [LoggerMessage(Level = LogLevel.Information, Message = "Request already {Status}; re-publishing the stored outcome without calling Upflow")]
    private static partial void LogRepublished(ILogger logger, string status);
}
