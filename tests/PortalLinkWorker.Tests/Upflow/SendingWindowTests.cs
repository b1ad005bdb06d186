using Microsoft.Extensions.Time.Testing;
using PortalLinkWorker.Upflow;

namespace PortalLinkWorker.Tests.Upflow;

/// <summary>The last check before a call leaves, on a fake clock: no test sleeps.</summary>
[Trait("Category", "Unit")]
public sealed class SendingWindowTests
{
    private const double Rate = 20;

    [Fact]
    public async Task Send_CallsSpacedAtTheRate_NeverWait()
    {
        var time = new FakeTimeProvider();
        var window = new SendingWindow(time);

        for (var i = 0; i < 100; i++)
        {
            var sent = await window.SendAsync(Rate, CancellationToken.None);
            Assert.Equal(time.GetUtcNow(), sent.SentAt);
            window.Answered(sent);
            time.Advance(SendingWindow.Spacing(Rate));
        }
    }

    [Fact]
    public async Task Send_OneCallMoreThanTheWindowHolds_WaitsForTheFirstToLeaveIt()
    {
        var time = new FakeTimeProvider();
        var start = time.GetUtcNow();
        var window = new SendingWindow(time);
        // Twenty calls that left together (a stall released them at once) fill the window.
        for (var i = 0; i < SendingWindow.Count(Rate); i++)
            Assert.Equal(start, (await window.SendAsync(Rate, CancellationToken.None)).SentAt);

        var next = window.SendAsync(Rate, CancellationToken.None);
        await RateBudgetTests.AdvanceUntil(time, () => next.IsCompleted, TimeSpan.FromMilliseconds(1));

        // A strict one-second window refuses the 21st call until the first is a second old; the window adds its
        // allowance for transit jitter.
        Assert.Equal(start + TimeSpan.FromSeconds(1) + SendingWindow.TransitJitter, (await next).SentAt);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Send_AfterASlowAnswer_CountsTheCallFromItsAnswerOnlyWhenAConnectionWasOpenedMeanwhile(bool newConnection)
    {
        var time = new FakeTimeProvider();
        var start = time.GetUtcNow();
        var window = new SendingWindow(time);
        // The first call is answered 500 ms after it left; the other 19 that fill the window (on a connection already open),
        // 20 ms after.
        var first = await window.SendAsync(Rate, CancellationToken.None);
        if (newConnection)
            window.ConnectionOpened();
        var others = new List<SendingWindow.SentCall>();
        for (var i = 1; i < SendingWindow.Count(Rate); i++)
            others.Add(await window.SendAsync(Rate, CancellationToken.None));
        time.Advance(TimeSpan.FromMilliseconds(20));
        others.ForEach(call => window.Answered(call));
        time.Advance(TimeSpan.FromMilliseconds(480));
        window.Answered(first);

        var next = window.SendAsync(Rate, CancellationToken.None);
        await RateBudgetTests.AdvanceUntil(time, () => next.IsCompleted, TimeSpan.FromMilliseconds(1));

        // On a new connection the first call may have waited for it: Upflow saw it no earlier than its answer less the
        // quickest round trip (480 ms after it left), and the 21st waits for that. On a warm one a slow answer says Upflow
        // was slow to work, not that the call arrived late.
        var seen = newConnection ? TimeSpan.FromMilliseconds(480) : TimeSpan.Zero;
        Assert.Equal(start + seen + SendingWindow.Length(Rate), (await next).SentAt);
    }

    [Fact]
    public async Task Answered_OnANewConnectionBeforeAnyWarmRoundTrip_CountsTheCallFromItsAnswer()
    {
        var time = new FakeTimeProvider();
        var window = new SendingWindow(time);
        var first = await window.SendAsync(Rate, CancellationToken.None);
        window.ConnectionOpened();
        time.Advance(TimeSpan.FromMilliseconds(60));

        // No call has come back on a warm connection yet: how long the handshake took is unknown, so the call may have
        // reached Upflow as late as its answer.
        Assert.Equal(time.GetUtcNow(), window.Answered(first));

        var warm = await window.SendAsync(Rate, CancellationToken.None);
        time.Advance(TimeSpan.FromMilliseconds(20));
        Assert.Equal(warm.SentAt, window.Answered(warm));
    }

    [Fact]
    public async Task Send_WithoutARate_NeverWaits()
    {
        var time = new FakeTimeProvider();
        var window = new SendingWindow(time);

        for (var i = 0; i < 1_000; i++)
            Assert.Equal(time.GetUtcNow(), (await window.SendAsync(0, CancellationToken.None)).SentAt);
    }

    [Theory]
    [InlineData(20, 20)]
    [InlineData(18.4, 19)]
    [InlineData(0.5, 1)]
    public void Length_HoldsCeilingOfTheRateCalls_InAtLeastASecond(double rate, int count)
    {
        Assert.Equal(count, SendingWindow.Count(rate));
        Assert.True(SendingWindow.Length(rate) >= TimeSpan.FromSeconds(1) + SendingWindow.TransitJitter);
        Assert.InRange((SendingWindow.Spacing(rate) * count - SendingWindow.Length(rate)).Duration(), TimeSpan.Zero, TimeSpan.FromTicks(count));
    }
}
