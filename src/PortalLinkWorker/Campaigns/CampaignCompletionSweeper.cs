using MassTransit;
using Microsoft.Extensions.Options;
using PortalLinkWorker.Persistence;

namespace PortalLinkWorker.Campaigns;

/// <summary>At start and every <see cref="CampaignOptions.CompletionSweepInterval"/>: publishes the completion of runs
/// that completed but whose event was never published (the worker that completed them died in between). Several
/// replicas sweeping at once skip each other's locked rows.</summary>
public sealed partial class CampaignCompletionSweeper(
    IServiceScopeFactory scopes,
    IBus bus,
    IOptions<CampaignOptions> options,
    TimeProvider time,
    ILogger<CampaignCompletionSweeper> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.CompletionSweepInterval, time);
        try
        {
            do
            {
                try
                {
                    await SweepAsync(stoppingToken);
                }
                catch (Exception e) when (!stoppingToken.IsCancellationRequested)
                {
                    // The database or the broker may be away; the next sweep tries again.
                    LogSweepFailed(logger, e.GetBaseException().Message);
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    public async Task<int> SweepAsync(CancellationToken cancellationToken)
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

    [LoggerMessage(Level = LogLevel.Warning, Message = "Looking for unpublished campaign completions failed: {Error}")]
    private static partial void LogSweepFailed(ILogger logger, string error);
}
