using MassTransit;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using PortalLinkWorker.Links;

namespace PortalLinkWorker.Operations;

/// <summary>
/// The bus consumes from RabbitMQ. MassTransit's own check answers <c>Degraded</c> both while the broker connection is
/// lost (its endpoints stop and retry) and while <see cref="ConsumptionSwitch"/> has stopped an endpoint on purpose, so
/// it cannot tell readiness: here an endpoint that is not running is <see cref="HealthStatus.Unhealthy"/> unless the
/// worker stopped it for an Upflow pause (then <see cref="HealthStatus.Degraded"/>; the <c>upflow</c> check says why).
/// While such a pause lasts, a lost broker connection shows as that pause too.
/// </summary>
public sealed class RabbitMqHealthCheck(IBusControl bus, ConsumptionSwitch consumption) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var health = bus.CheckHealth();
        var stopped = health.Endpoints.Values
            .Where(e => e.Status != BusHealthStatus.Healthy)
            .Select(e => e.InputAddress.AbsolutePath.Split('/').Last())
            .ToList();
        var pausedOnPurpose = consumption.IsPaused;
        var unexplained = stopped.Where(name => !(pausedOnPurpose && name == GeneratePortalLinkConsumerDefinition.QueueName)).ToList();

        HealthCheckResult result;
        if (health.Status == BusHealthStatus.Unhealthy)
            result = HealthCheckResult.Unhealthy($"RabbitMQ: bus not ready ({health.Description})");
        else if (unexplained.Count > 0)
            result = HealthCheckResult.Unhealthy(
                $"RabbitMQ: not consuming from {string.Join(", ", unexplained)} (connection lost or reconnecting)");
        else if (stopped.Count > 0)
            result = HealthCheckResult.Degraded($"RabbitMQ: connected; {string.Join(", ", stopped)} paused by the worker (see upflow)");
        else
            result = HealthCheckResult.Healthy($"RabbitMQ: connected, consuming from {health.Endpoints.Count} endpoint(s)");
        return Task.FromResult(result);
    }
}
