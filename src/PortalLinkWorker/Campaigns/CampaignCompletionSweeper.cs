using MassTransit;
using Microsoft.Extensions.Options;
using PortalLinkWorker.Persistence;

namespace PortalLinkWorker.Campaigns;

/// <summary>At start and every <see cref="CampaignOptions.CompletionSweepInterval"/>: publishes the completion of runs
/// that completed but whose event was never published (the worker that completed them died in between). Several
/// replicas sweeping at once skip each other's locked rows.</summary>
public sealed class CampaignCompletionSweeper(
    IServiceScopeFactory scopes,
    IBus bus,
    IOptions<CampaignOptions> options,
    TimeProvider time,
    ILogger<CampaignCompletionSweeper> logger) : PeriodicSweeper(time, logger)
{
    protected override TimeSpan Interval => options.Value.CompletionSweepInterval;

    protected override string What => "Looking for unpublished campaign completions";

    public override async Task<int> SweepAsync(CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var store = scope.ServiceProvider.GetRequiredService<CampaignStore>();
        var completion = scope.ServiceProvider.GetRequiredService<CampaignCompletion>();
        var published = 0;
        foreach (var campaignId in await store.UnpublishedCompletionsAsync(options.Value.CompletionSweepGrace, cancellationToken))
            if (await completion.PublishAsync(campaignId, bus, skipLocked: true, cancellationToken))
                published++;
        return published;
    }
}
