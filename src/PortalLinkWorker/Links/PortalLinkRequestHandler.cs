using MassTransit;
using Npgsql;
using Microsoft.Extensions.Options;
using PortalLinkContracts;
using PortalLinkWorker.Persistence;
using PortalLinkWorker.Upflow;

namespace PortalLinkWorker.Links;

/// <summary>
/// validate → BEGIN, record pending, lock the row and the customer (one round trip) → call Upflow → save the outcome and
/// COMMIT (one round trip) → publish.
/// The outcome is saved before it is published and the message is acknowledged after both, so a crash anywhere makes
/// RabbitMQ redeliver and the redelivery either finishes the work or re-publishes the saved outcome
/// (docs/design.md lists each crash window). A campaign item's outcome moves its campaign's counts in the same
/// transaction, and the transaction that finishes a campaign's last item publishes its completion after the commit.
/// Both lanes (<see cref="GeneratePortalLinkConsumer"/>, <see cref="GeneratePortalLinkBulkConsumer"/>) run this.
/// </summary>
public sealed partial class PortalLinkRequestHandler(
    PortalLinkStore store,
    ICampaignCompletion completion,
    UpflowClient upflow,
    UpflowPace pace,
    ConsumptionSwitch consumption,
    IOptions<UpflowOptions> upflowOptions,
    IOptions<DatabaseOptions> databaseOptions,
    TimeProvider time,
    LinkOutcomes outcomes,
    ILogger<PortalLinkRequestHandler> logger)
{
    /// <summary>Header of a message handed back for an outage: when it first tried Upflow (ISO 8601).</summary>
    public const string FirstTriedAtHeader = "PortalLink-FirstTriedAt";

    public async Task HandleAsync(ConsumeContext<GeneratePortalLink> context, UpflowLane lane)
    {
        var request = context.Message;
        var customerId = request.CustomerId ?? "";
        // The message's token, except that an answer Upflow has given is always saved (see DeferredCancellation).
        using var cancellation = new DeferredCancellation(context.CancellationToken);
        var ct = cancellation.Token;
        var problem = PortalLinkRequestValidator.Validate(request, upflowOptions.Value.MaxExpiresIn);
        // An invalid id may hold newlines or megabytes: it does not go into the log (or the status page) as it is.
        var shownCustomerId = PortalLinkRequestValidator.ValidateCustomerId(customerId) is null ? customerId : "(invalid)";
        using var scope = logger.BeginScope(new Dictionary<string, object?>
        {
            ["RequestId"] = request.RequestId,
            ["CustomerId"] = shownCustomerId,
            ["CampaignId"] = request.CampaignId,
        });
        try
        {
            await ProcessAsync(context, request, customerId, shownCustomerId, problem, lane, cancellation);
        }
        catch (Exception e) when (!ct.IsCancellationRequested && IsDatabaseUnavailable(e))
        {
            // PostgreSQL is down or restarting: not this message's fault, and MassTransit's short retries would push it
            // to the error queue. Whatever was not committed is rolled back; the message waits in the queue.
            LogDatabaseUnavailable(logger, e.GetBaseException().Message, databaseOptions.Value.OutagePause.TotalSeconds);
            await HandBackAsync(context, time.GetUtcNow() + databaseOptions.Value.OutagePause);
        }
        finally
        {
            // Whatever failed with the request's transaction open: it is rolled back before the retry or the redelivery.
            await store.RollbackIfOpenAsync();
        }
    }

    private async Task ProcessAsync(ConsumeContext<GeneratePortalLink> context, GeneratePortalLink request, string customerId,
        string shownCustomerId, string? problem, UpflowLane lane, DeferredCancellation cancellation)
    {
        var ct = cancellation.Token;
        if (request.RequestId == Guid.Empty)
        {
            // Without an idempotency key there is nothing to record the outcome under.
            LogInvalid(logger, problem!);
            await context.Publish(new PortalLinkFailed(request.RequestId, CustomerIdEcho.Echoed(customerId), PortalLinkFailureReason.InvalidRequest,
                problem!, time.GetUtcNow(), request.CampaignId), context.CancellationToken);
            outcomes.Failed(request.RequestId, shownCustomerId, PortalLinkFailureReason.InvalidRequest, request.CampaignId);
            return;
        }

        var pending = NewRow(request, problem is null, Now());
        // Never two calls for the same customer at once, in any replica (Upflow asks clients not to work on two entities
        // of one customer at a time): the customer lock is taken with the row's and ends with the transaction, or with
        // the session on a crash.
        var link = await store.BeginAsync(pending, lockCustomer: problem is null, ct);
        if (problem is null && link.CustomerId != customerId)
        {
            // The publisher reused a RequestId for another customer: answering with the stored outcome would hand one
            // customer's link to another. The stored request is left as it is.
            await store.RollbackAsync(keepPending: null, ct);
            var reused = $"RequestId {request.RequestId} was already used for another customer; use a new RequestId for each request.";
            LogInvalid(logger, reused);
            await context.Publish(new PortalLinkFailed(request.RequestId, CustomerIdEcho.Echoed(customerId), PortalLinkFailureReason.InvalidRequest,
                reused, Now(), request.CampaignId), context.CancellationToken);
            outcomes.Failed(request.RequestId, shownCustomerId, PortalLinkFailureReason.InvalidRequest, request.CampaignId);
            return;
        }
        if (link.IsFinal)
        {
            await store.RollbackAsync(keepPending: null, ct);
            LogRepublished(logger, link.Status);
            await PublishOutcome(context, link, link.CustomerId);
            return;
        }

        Guid? campaignCompleted;
        if (problem is not null)
        {
            LogInvalid(logger, problem);
            MarkFailed(link, PortalLinkFailureReason.InvalidRequest, problem);
            campaignCompleted = await store.CommitAsync(link, ct);
        }
        else
        {
            var firstTriedAt = FirstTriedAt(context);
            var answer = await CallUpflowAsync(request, customerId, lane, firstTriedAt, cancellation);
            if (answer is UpflowAnswer.Paused paused)
            {
                // Upflow calls are paused: no outcome. The row is recorded as pending, the message goes back to the queue.
                LogHandedBack(logger, paused.Why);
                await store.RollbackAsync(keepPending: pending, ct);
                await HandBackAsync(context, paused.Until, paused.FirstTriedAt ?? firstTriedAt);
                return;
            }
            var result = answer;
            Apply(link, result);
            try
            {
                campaignCompleted = await store.CommitAsync(link, ct);
            }
            catch (Exception e) when (!ct.IsCancellationRequested && IsDatabaseUnavailable(e))
            {
                // PostgreSQL went away while Upflow was answering. Handing the message back would ask Upflow again for a
                // link it has just issued, so the answer is kept and saved as soon as PostgreSQL is back.
                await store.RollbackIfOpenAsync();
                LogSaveDeferred(logger, e.GetBaseException().Message);
                (link, campaignCompleted) = await SaveWhenDatabaseIsBackAsync(pending, result, ct);
            }
        }

        if (link.Status == PortalLinkStatus.Generated)
            outcomes.Generated(link.CampaignId);
        else
            outcomes.Failed(link.RequestId, shownCustomerId, link.FailureReason!, link.CampaignId);
        // Crash window: the outcome is committed but not yet published; the redelivery re-publishes it.
        await PublishOutcome(context, link, customerId);
        // Crash window: the campaign is completed but its event not published; every worker's sweep publishes it.
        if (campaignCompleted is { } campaignId)
            await completion.PublishAsync(campaignId, context, skipLocked: false, context.CancellationToken);
    }

    /// <summary>Saves an answer Upflow has given after the transaction that asked for it was lost with its connection:
    /// a new transaction every <see cref="DatabaseOptions.SaveRetryInterval"/>, for up to
    /// <see cref="DatabaseOptions.OutcomeSaveWait"/>; after that the message goes back to the queue like any other
    /// database failure (and Upflow is asked again). An outcome another delivery saved meanwhile is kept, not overwritten.</summary>
    private async Task<(PortalLink, Guid?)> SaveWhenDatabaseIsBackAsync(PortalLink pending, UpflowAnswer result, CancellationToken ct)
    {
        var giveUpAt = time.GetUtcNow() + databaseOptions.Value.OutcomeSaveWait;
        while (true)
        {
            await Task.Delay(databaseOptions.Value.SaveRetryInterval, time, ct);
            try
            {
                var link = await store.BeginAsync(pending, lockCustomer: false, ct);
                if (link.IsFinal)
                {
                    await store.RollbackAsync(keepPending: null, ct);
                    return (link, null);
                }
                Apply(link, result);
                return (link, await store.CommitAsync(link, ct));
            }
            catch (Exception e) when (!ct.IsCancellationRequested && IsDatabaseUnavailable(e) && time.GetUtcNow() < giveUpAt)
            {
                await store.RollbackIfOpenAsync();
                LogStillUnavailable(logger, e.GetBaseException().Message);
            }
        }
    }

    private void Apply(PortalLink link, UpflowAnswer answer)
    {
        switch (answer)
        {
            case UpflowAnswer.Issued issued:
                link.Status = PortalLinkStatus.Generated;
                link.Url = issued.Url;
                link.ExpiresAt = PostgresTime.Truncate(issued.ExpiresAt);
                link.GeneratedAt = PostgresTime.Truncate(issued.IssuedAt);
                link.UpdatedAt = Now();
                LogGenerated(logger, link.ExpiresAt.Value);
                break;
            case UpflowAnswer.Refused refused:
                LogRefused(logger, refused.Reason, refused.Message);
                MarkFailed(link, refused.Reason, refused.Message);
                break;
            case UpflowAnswer.Unavailable unavailable:
                LogRefused(logger, PortalLinkFailureReason.UpflowUnavailable, unavailable.Message);
                MarkFailed(link, PortalLinkFailureReason.UpflowUnavailable, unavailable.Message);
                break;
            default:
                throw new InvalidOperationException($"No outcome to save for {answer.GetType().Name}.");
        }
    }

    /// <summary>The Upflow answer. A request whose retries ran out fails as UpflowUnavailable only when Upflow answered
    /// some other call since the request was first tried (in this delivery or one handed back before): if nothing got an
    /// answer, Upflow is down for everyone, calls pause, and the request waits in the queue. No message fails because
    /// Upflow is down for everyone, and no call is made to find out: a request alone in the queue whose customer keeps
    /// failing waits (one call per Upflow:OutageProbeInterval as the half-open trial) until another request is answered.</summary>
    private async Task<UpflowAnswer> CallUpflowAsync(GeneratePortalLink request, string customerId, UpflowLane lane,
        DateTimeOffset? firstTriedAt, DeferredCancellation cancellation)
    {
        var answer = await upflow.CreatePortalLinkAsync(request.RequestId, customerId,
            request.ExpiresIn ?? UpflowOptions.DefaultExpiresInSeconds, request.FrameAncestors, lane, cancellation);
        if (answer is UpflowAnswer.Unavailable unavailable)
        {
            var since = firstTriedAt < unavailable.FirstAttemptAt ? firstTriedAt.Value : unavailable.FirstAttemptAt;
            if (pace.IsOutageFor(since))
                return new UpflowAnswer.Paused("Upflow is down for everyone", null, since);
        }
        return answer;
    }

    /// <summary>When an earlier delivery of this message first tried Upflow before handing it back for an outage.</summary>
    private DateTimeOffset? FirstTriedAt(ConsumeContext context) =>
        context.Headers.Get<string>(FirstTriedAtHeader) is { } value &&
        DateTimeOffset.TryParseExact(value, "O", System.Globalization.CultureInfo.InvariantCulture,
            System.Globalization.DateTimeStyles.AssumeUniversal, out var at) && at <= time.GetUtcNow()
            ? at
            : null;

    /// <summary>Puts the message back at the tail of its queue (sent before this delivery is acknowledged, so a crash in
    /// between duplicates it at worst) and stops consuming until <paramref name="until"/>, or until Upflow answers
    /// again when that is null. A message handed back for an outage carries when it was first tried.</summary>
    private async Task HandBackAsync(ConsumeContext<GeneratePortalLink> context, DateTimeOffset? until, DateTimeOffset? firstTriedAt = null)
    {
        var queue = await context.GetSendEndpoint(context.ReceiveContext.InputAddress);
        await queue.Send(context.Message, send =>
        {
            if (firstTriedAt is { } at)
                send.Headers.Set(FirstTriedAtHeader, at.ToString("O", System.Globalization.CultureInfo.InvariantCulture));
        });
        consumption.Pause(until);
    }

    /// <summary>A lost or refused connection, or the server shutting down: Npgsql's transient errors, and the
    /// states a restart ends the sessions with (57P01 admin shutdown, 57P02 crash shutdown, 57P03 cannot connect now), which
    /// Npgsql does not count as transient: a restart ends every open session with 57P01.</summary>
    private static bool IsDatabaseUnavailable(Exception e)
    {
        for (var inner = e; inner is not null; inner = inner.InnerException)
            if (inner is NpgsqlException { IsTransient: true }
                or PostgresException { SqlState: PostgresErrorCodes.AdminShutdown or PostgresErrorCodes.CrashShutdown
                    or PostgresErrorCodes.CannotConnectNow })
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
            : context.Publish(new PortalLinkFailed(link.RequestId, CustomerIdEcho.Echoed(customerId), link.FailureReason!, link.FailureMessage!,
                link.FailedAt!.Value, link.CampaignId), context.CancellationToken);

    private static PortalLink NewRow(GeneratePortalLink request, bool valid, DateTimeOffset now) => new()
    {
        RequestId = request.RequestId,
        CustomerId = valid ? request.CustomerId : CustomerIdEcho.Stored(request.CustomerId),
        CampaignId = request.CampaignId,
        ExpiresIn = valid ? request.ExpiresIn ?? UpflowOptions.DefaultExpiresInSeconds : null,
        FrameAncestors = valid && !string.IsNullOrEmpty(request.FrameAncestors) ? request.FrameAncestors : null,
        CreatedAt = now,
        UpdatedAt = now,
    };

    [LoggerMessage(Level = LogLevel.Information, Message = "Portal link generated, valid until {ExpiresAt:O}")]
    private static partial void LogGenerated(ILogger logger, DateTimeOffset expiresAt);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Portal link failed: {Reason}: {Detail}")]
    private static partial void LogRefused(ILogger logger, string reason, string detail);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Request rejected before calling Upflow: {Problem}")]
    private static partial void LogInvalid(ILogger logger, string problem);

    [LoggerMessage(Level = LogLevel.Warning, Message = "PostgreSQL is unavailable ({Error}): the message goes back to the queue and consumption pauses for {Seconds:0.#} s")]
    private static partial void LogDatabaseUnavailable(ILogger logger, string error, double seconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "PostgreSQL is unavailable ({Error}) with Upflow's answer in hand: saving it when PostgreSQL is back")]
    private static partial void LogSaveDeferred(ILogger logger, string error);

    [LoggerMessage(Level = LogLevel.Debug, Message = "PostgreSQL still unavailable ({Error}); the answer is kept")]
    private static partial void LogStillUnavailable(ILogger logger, string error);

    [LoggerMessage(Level = LogLevel.Information, Message = "Back to the queue, consumption paused: {Why}")]
    private static partial void LogHandedBack(ILogger logger, string why);

    [LoggerMessage(Level = LogLevel.Information, Message = "Request already {Status}; re-publishing the stored outcome without calling Upflow")]
    private static partial void LogRepublished(ILogger logger, string status);
}
