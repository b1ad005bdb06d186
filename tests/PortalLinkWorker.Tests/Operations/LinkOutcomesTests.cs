using Microsoft.Extensions.Time.Testing;
using PortalLinkWorker.Operations;
using PortalLinkWorker.Tests.Upflow;
using PortalLinkWorker.Links;

namespace PortalLinkWorker.Tests.Operations;

[Trait("Category", "Unit")]
public sealed class LinkOutcomesTests
{
    [Fact]
    public void Count_LastMinuteAndHour_SlideWithTheClock()
    {
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-11-28T10:00:00Z"));
        var outcomes = new LinkOutcomes(time, RateBudgetTests.Meters);
        outcomes.Generated(null);
        outcomes.Generated(Guid.NewGuid());
        outcomes.Failed(Guid.NewGuid(), "external:a", "CustomerNotFound", null);

        time.Advance(TimeSpan.FromSeconds(61));
        outcomes.Generated(null);
        var counts = outcomes.Count();
        Assert.Equal((3, 1, 1, 3, 0, 1), (counts.Generated, counts.Failed, counts.GeneratedLastMinute, counts.GeneratedLastHour,
            counts.FailedLastMinute, counts.FailedLastHour));

        time.Advance(TimeSpan.FromMinutes(59));
        counts = outcomes.Count();
        Assert.Equal((3L, 0L, 1L, 0L), (counts.Generated, counts.GeneratedLastMinute, counts.GeneratedLastHour, counts.FailedLastHour));

        // A slot reused an hour later starts from zero.
        time.Advance(TimeSpan.FromMinutes(1));
        outcomes.Generated(null);
        counts = outcomes.Count();
        Assert.Equal((4L, 1L, 1L), (counts.Generated, counts.GeneratedLastMinute, counts.GeneratedLastHour));
        Assert.Equal(1, counts.FailedByReason["CustomerNotFound"]);
    }

    [Fact]
    public void RecentFailures_NewestFirst_Bounded()
    {
        var time = new FakeTimeProvider();
        var outcomes = new LinkOutcomes(time, RateBudgetTests.Meters);
        for (var i = 0; i < LinkOutcomes.RecentFailureCount + 5; i++)
        {
            outcomes.Failed(Guid.NewGuid(), $"external:{i}", "Rejected", null);
            time.Advance(TimeSpan.FromSeconds(1));
        }
        var recent = outcomes.RecentFailures();
        Assert.Equal(LinkOutcomes.RecentFailureCount, recent.Count);
        Assert.Equal($"external:{LinkOutcomes.RecentFailureCount + 4}", recent[0].CustomerId);
    }
}
