using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using PortalLinkWorker.Operations;
using PortalLinkWorker.Tests.Upflow;
using PortalLinkWorker.Upflow;

namespace PortalLinkWorker.Tests.Operations;

[Trait("Category", "Unit")]
public sealed class UpflowHealthCheckTests
{
    private readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2026-11-28T10:00:00Z"));
    private readonly UpflowAvailability _availability;
    private readonly RateBudget _budget;
    private readonly UpflowHealthCheck _check;

    public UpflowHealthCheckTests()
    {
        var options = Options.Create(new UpflowOptions { ApiKey = "k", ApiSecret = "secret-never-shown", MaxRequestsPerSecond = 10, OutageFailureThreshold = 1 });
        _availability = new UpflowAvailability(options, _time, NullLogger<UpflowAvailability>.Instance);
        _budget = new RateBudget(new InMemoryRateBudgetStore(_time), options, _time, NullLogger<RateBudget>.Instance, RateBudgetTests.Meters);
        _check = new UpflowHealthCheck(new UpflowPace(_budget, _availability, _time), options, _time);
    }

    private Task<HealthCheckResult> CheckAsync() => _check.CheckHealthAsync(new HealthCheckContext());

    [Fact]
    public async Task Running_Healthy() => Assert.Equal(HealthStatus.Healthy, (await CheckAsync()).Status);

    [Fact]
    public async Task RefusedCredentials_Unhealthy_SaysWhichSettings()
    {
        _availability.ReportCredentialsRejected(401);
        var result = await CheckAsync();
        Assert.Equal(HealthStatus.Unhealthy, result.Status);
        Assert.Contains("Upflow:ApiKey", result.Description);
        Assert.DoesNotContain("secret-never-shown", result.Description);
    }

    [Fact]
    public async Task Outage_Unhealthy()
    {
        _availability.ReportTransientFailure(Guid.NewGuid());
        var result = await CheckAsync();
        Assert.Equal(HealthStatus.Unhealthy, result.Status);
        Assert.Contains("outage", result.Description);
    }

    [Fact]
    public async Task A429Pause_Degraded_UntilItsReset()
    {
        await _budget.ReportThrottledAsync(TimeSpan.FromSeconds(20), _time.GetUtcNow(), CancellationToken.None);
        var result = await CheckAsync();
        Assert.Equal(HealthStatus.Degraded, result.Status);
        Assert.Contains("429", result.Description);

        _time.Advance(TimeSpan.FromSeconds(21));
        Assert.Equal(HealthStatus.Healthy, (await CheckAsync()).Status);
    }

    [Fact]
    public async Task UnreadableAnswer_Unhealthy_SaysWhatCameAndWhichSetting()
    {
        _availability.ReportAnswerUnreadable(new UnreadableAnswer(200, "no 'url' field (Upflow:UrlField)", "a JSON object with fields link (string)"));
        var result = await CheckAsync();
        Assert.Equal(HealthStatus.Unhealthy, result.Status);
        Assert.Contains("fields link (string)", result.Description);
        Assert.Contains("Upflow:UrlField", result.Description);

        // Another answer of Upflow (a 404, say) does not end it; a link read does.
        _availability.ReportAnswered();
        Assert.Equal(HealthStatus.Unhealthy, (await CheckAsync()).Status);
        _availability.ReportLinkRead();
        Assert.Equal(HealthStatus.Healthy, (await CheckAsync()).Status);
    }

    [Fact]
    public async Task Resumed_HealthyAgain()
    {
        _availability.ReportCredentialsRejected(403);
        _availability.ReportAnswered();
        Assert.Equal(HealthStatus.Healthy, (await CheckAsync()).Status);
    }
}
