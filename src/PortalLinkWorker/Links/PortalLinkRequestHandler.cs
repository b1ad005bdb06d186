using MassTransit;
using Microsoft.Extensions.Options;
using PortalLinkContracts;
using PortalLinkWorker.Persistence;
using PortalLinkWorker.Upflow;

namespace PortalLinkWorker.Links;

/// <summary>
/// The transaction script around <see cref="IncomingRequest"/>'s decisions: check → begin, record pending, lock the row
/// and the customer → decide → call Upflow → save the outcome and commit → publish.
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
    public async Task HandleAsync(ConsumeContext<GeneratePortalLink> context, UpflowLane lane)
    {
        var request = IncomingRequest.Check(context.Message, upflowOptions.Value.MaxExpiresIn);
        // The message's token, except that an answer Upflow has given is always saved (see DeferredCancellation).
        using var cancellation = new DeferredCancellation(context.CancellationToken);
        var ct = cancellation.Token;
        using var scope = logger.BeginScope(new Dictionary<string, object?>
        {
            ["RequestId"] = request.Message.RequestId,
            ["CustomerId"] = request.ShownCustomerId,
            ["CampaignId"] = request.Message.CampaignId,
        });
        try
        {
            await ProcessAsync(context, request, lane, cancellation);
        }
        catch (Exception e) when (!ct.IsCancellationRequested && DatabaseUnavailable.Is(e))
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

    private async Task ProcessAsync(ConsumeContext<GeneratePortalLink> context, IncomingRequest request, UpflowLane lane,
        DeferredCancellation cancellation)
    {
        var ct = cancellation.Token;
        var start = request.Start(Now());
        if (start is RequestDecision.RejectUnrecorded unrecorded)
        {
            await RejectAsync(context, request, unrecorded.Problem, time.GetUtcNow());
            return;
        }

        var (pending, lockCustomer) = (RequestDecision.Lock)start;
        var link = await store.BeginAsync(pending, lockCustomer, ct);
        Guid? campaignCompleted;
        switch (request.Decide(link))
        {
            case RequestDecision.RejectReused reused:
                await store.RollbackAsync(keepPending: null, ct);
                await RejectAsync(context, request, reused.Problem, Now());
                return;
            case RequestDecision.Republish:
                await store.RollbackAsync(keepPending: null, ct);
                LogRepublished(logger, link.Status);
                await context.Publish(RequestOutcome.Event(link, link.CustomerId), context.CancellationToken);
                return;
            case RequestDecision.ErasedLink:
                await store.RollbackAsync(keepPending: null, ct);
                LogErasedNotRepublished(logger, link.ExpiresAt);
                return;
            case RequestDecision.SaveInvalid invalid:
                LogInvalid(logger, invalid.Problem);
                RequestOutcome.MarkFailed(link, PortalLinkFailureReason.InvalidRequest, invalid.Problem, Now());
                campaignCompleted = await store.CommitAsync(link, ct);
                break;
            case RequestDecision.CallUpflow when request.ReusableUntil(Now()) is { } until &&
                                                 await store.FindReusableAsync(link, until, ct) is { } origin:
                // A link valid long enough is answered again: no Upflow call, no budget spent.
                RequestOutcome.ApplyReuse(link, origin, Now());
                LogReused(logger, link.ReusedFrom!.Value, link.ExpiresAt!.Value);
                campaignCompleted = await store.CommitAsync(link, ct);
                break;
            case RequestDecision.CallUpflow:
                if (await CallAndSaveAsync(context, request, link, pending, lane, cancellation) is not { } saved)
                    return;
                (link, campaignCompleted) = saved;
                break;
            default:
                throw new InvalidOperationException("No step for this decision.");
        }

        if (link.Status == PortalLinkStatus.Generated)
            outcomes.Generated(link.CampaignId);
        else
            outcomes.Failed(link.RequestId, request.ShownCustomerId, link.FailureReason!, link.CampaignId);
        // Crash window: the outcome is committed but not yet published; the redelivery re-publishes it.
        await context.Publish(RequestOutcome.Event(link, request.CustomerId), context.CancellationToken);
        // Crash window: the campaign is completed but its event not published; every worker's sweep publishes it.
        if (campaignCompleted is { } campaignId)
            await completion.PublishAsync(campaignId, context, skipLocked: false, context.CancellationToken);
    }

    /// <summary>Calls Upflow with the row locked and commits its answer; null when calls are paused and the message went
    /// back to the queue (the row stays recorded as pending).</summary>
    private async Task<(PortalLink Link, Guid? CampaignCompleted)?> CallAndSaveAsync(ConsumeContext<GeneratePortalLink> context,
        IncomingRequest request, PortalLink link, PortalLink pending, UpflowLane lane, DeferredCancellation cancellation)
    {
        var ct = cancellation.Token;
        var firstTriedAt = RequestOutcome.FirstTriedAt(context.Headers.Get<string>(RequestOutcome.FirstTriedAtHeader), time.GetUtcNow());
        var answer = await CallUpflowAsync(request, lane, firstTriedAt, cancellation);
        if (answer is UpflowAnswer.Paused paused)
        {
            LogHandedBack(logger, paused.Why);
            await store.RollbackAsync(keepPending: pending, ct);
            await HandBackAsync(context, paused.Until, paused.FirstTriedAt ?? firstTriedAt);
            return null;
        }
        Apply(link, answer);
        try
        {
            return (link, await store.CommitAsync(link, ct));
        }
        catch (Exception e) when (!ct.IsCancellationRequested && DatabaseUnavailable.Is(e))
        {
            // PostgreSQL went away while Upflow was answering. Handing the message back would ask Upflow again for a
            // link it has just issued, so the answer is kept and saved as soon as PostgreSQL is back.
            await store.RollbackIfOpenAsync();
            LogSaveDeferred(logger, e.GetBaseException().Message);
            return await SaveWhenDatabaseIsBackAsync(pending, answer, ct);
        }
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
            catch (Exception e) when (!ct.IsCancellationRequested && DatabaseUnavailable.Is(e) && time.GetUtcNow() < giveUpAt)
            {
                await store.RollbackIfOpenAsync();
                LogStillUnavailable(logger, e.GetBaseException().Message);
            }
        }
    }

    /// <summary>The Upflow answer. A request whose retries ran out fails as UpflowUnavailable only when Upflow answered
    /// some other call since the request was first tried (in this delivery or one handed back before): if nothing got an
    /// answer, Upflow is down for everyone, calls pause, and the request waits in the queue. No message fails because
    /// Upflow is down for everyone, and no call is made to find out: a request alone in the queue whose customer keeps
    /// failing waits (one call per Upflow:OutageProbeInterval as the half-open trial) until another request is answered.</summary>
    private async Task<UpflowAnswer> CallUpflowAsync(IncomingRequest request, UpflowLane lane, DateTimeOffset? firstTriedAt,
        DeferredCancellation cancellation)
    {
        var message = request.Message;
        var answer = await upflow.CreatePortalLinkAsync(message.RequestId, request.CustomerId,
            message.ExpiresIn ?? UpflowOptions.DefaultExpiresInSeconds, message.FrameAncestors, lane, cancellation);
        if (answer is UpflowAnswer.Unavailable unavailable)
        {
            var since = RequestOutcome.UnavailableSince(firstTriedAt, unavailable);
            if (pace.IsOutageFor(since))
                return new UpflowAnswer.Paused("Upflow is down for everyone", null, since);
        }
        return answer;
    }

    private void Apply(PortalLink link, UpflowAnswer answer)
    {
        RequestOutcome.Apply(link, answer, Now());
        if (link.Status == PortalLinkStatus.Generated)
            LogGenerated(logger, link.ExpiresAt!.Value);
        else
            LogRefused(logger, link.FailureReason!, link.FailureMessage!);
    }

    /// <summary>Publishes the InvalidRequest failure of a request that is not saved.</summary>
    private async Task RejectAsync(ConsumeContext context, IncomingRequest request, string problem, DateTimeOffset at)
    {
        LogInvalid(logger, problem);
        await context.Publish(RequestOutcome.Rejected(request.Message, problem, at), context.CancellationToken);
        outcomes.Failed(request.Message.RequestId, request.ShownCustomerId, PortalLinkFailureReason.InvalidRequest, request.Message.CampaignId);
    }

    /// <summary>Puts the message back at the tail of its queue (sent before this delivery is acknowledged, so a crash in
    /// between duplicates it at worst) and stops consuming until <paramref name="until"/>, or until Upflow answers
    /// again when that is null. A message handed back for an outage carries when it was first tried.</summary>
    private async Task HandBackAsync(ConsumeContext<GeneratePortalLink> context, DateTimeOffset? until, DateTimeOffset? firstTriedAt = null)
    {
        var queue = await context.GetSendEndpoint(context.ReceiveContext.InputAddress);
        await queue.Send(context.Message, send =>
        {
            if (firstTriedAt is { } at)
                send.Headers.Set(RequestOutcome.FirstTriedAtHeader, RequestOutcome.FirstTriedAtValue(at));
        });
        consumption.Pause(until);
    }

    private DateTimeOffset Now() => PostgresTime.Truncate(time.GetUtcNow());

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

    [LoggerMessage(Level = LogLevel.Information, Message = "Portal link of request {ReusedFrom} reused (valid until {ExpiresAt:O}); Upflow not called")]
    private static partial void LogReused(ILogger logger, Guid reusedFrom, DateTimeOffset expiresAt);

    [LoggerMessage(Level = LogLevel.Information, Message = "Request already generated, but its link expired ({ExpiresAt:O}) and its URL was erased: nothing published again")]
    private static partial void LogErasedNotRepublished(ILogger logger, DateTimeOffset? expiresAt);

    [LoggerMessage(Level = LogLevel.Information, Message = "Request already {Status}; re-publishing the stored outcome without calling Upflow")]
    private static partial void LogRepublished(ILogger logger, string status);
}
