using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using PortalLinkWorker.Upflow;

namespace PortalLinkWorker.Tests.Upflow;

/// <summary>This process's side of the budget, on a fake clock: no test sleeps.</summary>
[Trait("Category", "Unit")]
public sealed class RateBudgetTests
{
    internal static readonly IMeterFactory Meters = new ServiceCollection().AddMetrics().BuildServiceProvider().GetRequiredService<IMeterFactory>();

    internal static RateBudget Budget(IRateBudgetStore store, TimeProvider time, UpflowOptions options) =>
        new(store, Options.Create(options), time, NullLogger<RateBudget>.Instance, Meters);

    /// <summary>Acquires <paramref name="count"/> tokens while moving the fake clock forward in small steps, and returns the fake
    /// times at which each acquisition completed.</summary>
    private static async Task<List<DateTimeOffset>> AcquireMany(RateBudget budget, FakeTimeProvider time, int count, TimeSpan step)
    {
        var done = new List<DateTimeOffset>();
        var run = Task.Run(async () =>
        {
            for (var i = 0; i < count; i++)
            {
                await budget.AcquireAsync(TimeSpan.FromSeconds(30), CancellationToken.None);
                lock (done)
                    done.Add(time.GetUtcNow());
            }
        });
        await AdvanceUntil(time, () => run.IsCompleted, step);
        await run;
        return done;
    }

    [Fact]
    public async Task Acquire_PacesCallsAtTheConfiguredRate()
    {
        var time = new FakeTimeProvider();
        var start = time.GetUtcNow();
        var budget = Budget(new InMemoryRateBudgetStore(time), time, new UpflowOptions { MaxRequestsPerSecond = 10 });

        var done = await AcquireMany(budget, time, 50, TimeSpan.FromMilliseconds(10));

        // 50 calls at 10/s: about 5 s, never faster than the rate allows (plus one burst window).
        Assert.InRange((done[^1] - start).TotalSeconds, 4.7, 5.5);
    }

    [Fact]
    public async Task Acquire_SendingTimeBetweenMilliseconds_WaitsForItWithoutSpinning()
    {
        // At 3/s the sending times fall a third of a millisecond past the clock's whole milliseconds (the first is due
        // at 333.33 ms), and a timer counts whole milliseconds: the budget must still hand the clock back while it waits.
        var time = new FakeTimeProvider();
        var start = time.GetUtcNow();
        var budget = Budget(new InMemoryRateBudgetStore(time), time, new UpflowOptions { MaxRequestsPerSecond = 3 });
        using var giveUp = new CancellationTokenSource();
        // Started off the test's context (its first lease taken and its timer set before the clock moves), so that the
        // fake timers run the budget's continuations inline in Advance, as they do for a worker's callers: a budget that
        // spins there never lets Advance return.
        var acquired = await Task.Factory.StartNew(() => budget.AcquireAsync(TimeSpan.FromSeconds(30), giveUp.Token));
        var clock = Task.Run(() =>
        {
            while (!acquired.IsCompleted && time.GetUtcNow() - start < TimeSpan.FromSeconds(2))
                time.Advance(TimeSpan.FromMilliseconds(1));
        });

        // Real time only bounds a hang (the clock's own thread stuck in Advance); it measures nothing.
        var clockReturned = await Task.WhenAny(clock, Task.Delay(TimeSpan.FromSeconds(20))) == clock;
        // A spinning caller checks its token on every turn: cancelling frees the thread when the test has failed.
        giveUp.Cancel();
        Assert.True(clockReturned, "Advance never returned: the budget spun on the thread that moves the clock");
        await acquired;
        Assert.True(time.GetUtcNow() - start >= TimeSpan.FromSeconds(1.0 / 3), "sent before its reserved time");
    }

    [Fact]
    public async Task Acquire_BurstWindowLongerThanTheLeaseLifetime_StillPacesAtTheRate()
    {
        // Reservations reach 2 s ahead, the lease's lifetime is 0.5 s: a caller waiting for its reserved time must not
        // find its lease gone and lease again (each lease pushing the times further out).
        var time = new FakeTimeProvider();
        var start = time.GetUtcNow();
        var budget = Budget(new InMemoryRateBudgetStore(time), time,
            new UpflowOptions { MaxRequestsPerSecond = 10, BurstWindow = TimeSpan.FromSeconds(2) });

        var done = await AcquireMany(budget, time, 50, TimeSpan.FromMilliseconds(10));

        Assert.InRange((done[^1] - start).TotalSeconds, 4.7, 5.5);
    }

    [Fact]
    public async Task Acquire_CallerBackAfterAnIdleSpell_SendsEvenlyNotItsPastReservationsAtOnce()
    {
        // 100/s leases slices of 5 reservations 10 ms apart; the caller takes one, goes idle for 300 ms (the lease still
        // valid), then wants 5 at once.
        var time = new FakeTimeProvider();
        var budget = Budget(new InMemoryRateBudgetStore(time), time, new UpflowOptions { MaxRequestsPerSecond = 100 });
        await AcquireMany(budget, time, 1, TimeSpan.FromMilliseconds(1));
        time.Advance(TimeSpan.FromMilliseconds(300));

        var done = await AcquireMany(budget, time, 5, TimeSpan.FromMilliseconds(1));

        var gaps = done.Zip(done.Skip(1), (a, b) => (b - a).TotalMilliseconds).ToList();
        Assert.All(gaps, gap => Assert.True(gap >= 9, $"calls {string.Join(", ", gaps)} ms apart: past reservations went back to back"));
    }

    [Fact]
    public async Task Acquire_LeasesSlices_NotOneRoundTripPerCall()
    {
        var time = new FakeTimeProvider();
        var store = new InMemoryRateBudgetStore(time);
        var budget = Budget(store, time, new UpflowOptions { MaxRequestsPerSecond = 100 });

        await AcquireMany(budget, time, 200, TimeSpan.FromMilliseconds(10));

        // 100/s with a 0.1 s burst window: slices of 5 tokens, so far fewer store updates than calls.
        Assert.InRange(store.Updates, 1, 100);
    }

    [Fact]
    public async Task Acquire_PauseLongerThanMaxWait_ThrowsPausedWithItsEnd()
    {
        var time = new FakeTimeProvider();
        var budget = Budget(new InMemoryRateBudgetStore(time), time, new UpflowOptions { MaxRequestsPerSecond = 10 });
        await budget.ReportThrottledAsync(TimeSpan.FromSeconds(30), time.GetUtcNow(), CancellationToken.None);

        var paused = await Assert.ThrowsAsync<UpflowPausedException>(() => budget.AcquireAsync(TimeSpan.FromSeconds(10), CancellationToken.None));
        Assert.Equal(time.GetUtcNow() + TimeSpan.FromSeconds(30), paused.Until);
    }

    [Fact]
    public async Task ReportThrottled_PausesTheOtherReplicaToo()
    {
        var time = new FakeTimeProvider();
        var store = new InMemoryRateBudgetStore(time);
        var options = new UpflowOptions { MaxRequestsPerSecond = 10, LearnedRateMargin = 0.75 };
        var replicaA = Budget(store, time, options);
        var replicaB = Budget(store, time, options);
        // Replica B saw 15 calls admitted over the last 1.5 s before A's 429.
        var sent = time.GetUtcNow();
        for (var i = 0; i < 15; i++)
            replicaB.ReportAdmitted(sent - TimeSpan.FromMilliseconds(100 * i));
        var acquired = replicaB.AcquireAsync(TimeSpan.FromSeconds(1), CancellationToken.None);
        await AdvanceUntil(time, () => acquired.IsCompleted);
        await acquired;

        await replicaA.ReportThrottledAsync(TimeSpan.FromSeconds(20), time.GetUtcNow(), CancellationToken.None);

        await Assert.ThrowsAsync<UpflowPausedException>(() => replicaB.AcquireAsync(TimeSpan.FromSeconds(5), CancellationToken.None));
        // When the pause is over, the rate settles at 0.75 of what was admitted, for both.
        time.Advance(TimeSpan.FromSeconds(20));
        var resumed = replicaB.AcquireAsync(TimeSpan.FromSeconds(5), CancellationToken.None);
        await AdvanceUntil(time, () => resumed.IsCompleted);
        await resumed;
        // Upflow asked for 20 s: the limit binds over a long window, and 15 calls over 1.4 s + 19 s is 0.73/s.
        Assert.InRange(replicaB.EffectiveRate, 0.45, 0.65);
    }

    [Fact]
    public async Task Pause_CallsAnsweredDuringIt_AreInTheSharedLogBeforeItEnds()
    {
        // Replica B learns of A's 429 at its next lease, and a call it had in flight is answered during the pause. The rate
        // settles at the first lease after the pause, whichever replica makes it: B's call must be in the log by then.
        var time = new FakeTimeProvider();
        var store = new InMemoryRateBudgetStore(time);
        var options = new UpflowOptions { MaxRequestsPerSecond = 10 };
        var replicaA = Budget(store, time, options);
        var replicaB = Budget(store, time, options);
        var refusedAt = time.GetUtcNow();
        await replicaA.ReportThrottledAsync(TimeSpan.FromSeconds(1), refusedAt, CancellationToken.None);
        var waiting = replicaB.AcquireAsync(TimeSpan.FromSeconds(5), CancellationToken.None);
        await AdvanceUntil(time, () => replicaB.PausedUntil > refusedAt, TimeSpan.FromMilliseconds(1));

        time.Advance(TimeSpan.FromMilliseconds(20));
        replicaB.ReportAdmitted(refusedAt - TimeSpan.FromMilliseconds(30));
        await AdvanceUntil(time, () => time.GetUtcNow() >= refusedAt + TimeSpan.FromMilliseconds(900), TimeSpan.FromMilliseconds(1));

        var (logged, _) = await store.UpdateAsync((state, at) => (state!, state!.Admitted.Count(at, TimeSpan.FromSeconds(2))),
            CancellationToken.None);
        Assert.Equal(1, logged);
        await AdvanceUntil(time, () => waiting.IsCompleted);
        await waiting;
    }

    [Fact]
    public async Task TwoReplicas_ShareOneRate()
    {
        var time = new FakeTimeProvider();
        var store = new InMemoryRateBudgetStore(time);
        var options = new UpflowOptions { MaxRequestsPerSecond = 10 };
        var start = time.GetUtcNow();
        var replicaA = Budget(store, time, options);
        var replicaB = Budget(store, time, options);

        var both = new List<DateTimeOffset>();
        var runs = new[] { replicaA, replicaB }.Select(budget => Task.Run(async () =>
        {
            for (var i = 0; i < 25; i++)
            {
                await budget.AcquireAsync(TimeSpan.FromSeconds(30), CancellationToken.None);
                lock (both)
                    both.Add(time.GetUtcNow());
            }
        })).ToArray();
        await AdvanceUntil(time, () => runs.All(r => r.IsCompleted));
        await Task.WhenAll(runs);

        // 50 calls between them at a shared 10/s: about 5 s, not the 2.5 s two separate budgets would allow.
        Assert.InRange((both.Max() - start).TotalSeconds, 4.7, 5.5);
    }

    [Fact]
    public async Task Disabled_NoStore_ButA429StillPauses()
    {
        var time = new FakeTimeProvider();
        var store = new InMemoryRateBudgetStore(time);
        var budget = Budget(store, time, new UpflowOptions { MaxRequestsPerSecond = 0 });

        await budget.AcquireAsync(TimeSpan.Zero, CancellationToken.None);
        await budget.ReportThrottledAsync(TimeSpan.FromSeconds(5), time.GetUtcNow(), CancellationToken.None);
        await Assert.ThrowsAsync<UpflowPausedException>(() => budget.AcquireAsync(TimeSpan.FromSeconds(1), CancellationToken.None));
        Assert.Equal(0, store.Updates);
    }

    [Fact]
    public async Task Acquire_LiveCallerGoesBeforeQueuedBulkCallers()
    {
        var time = new FakeTimeProvider();
        var budget = Budget(new InMemoryRateBudgetStore(time), time, new UpflowOptions { MaxRequestsPerSecond = 10 });
        var bulkDone = 0;
        var bulk = Enumerable.Range(0, 20).Select(_ => Task.Run(async () =>
        {
            await budget.AcquireAsync(TimeSpan.FromSeconds(30), UpflowLane.Bulk, CancellationToken.None);
            Interlocked.Increment(ref bulkDone);
        })).ToList();
        await AdvanceUntil(time, () => Volatile.Read(ref bulkDone) >= 3);

        var before = Volatile.Read(ref bulkDone);
        var live = budget.AcquireAsync(TimeSpan.FromSeconds(30), UpflowLane.Live, CancellationToken.None);
        await AdvanceUntil(time, () => live.IsCompleted);
        await live;

        // In arrival order the live caller would wait for the 17 bulk callers ahead of it; first come, first served
        // within the lane, it waits at most for the bulk caller holding the turn.
        Assert.InRange(Volatile.Read(ref bulkDone), before, before + 2);
        await AdvanceUntil(time, () => bulk.All(t => t.IsCompleted));
    }

    [Fact]
    public async Task ReportReceived_ACallSeenLate_MovesTheFleetsLaterReservationsByTheExcess()
    {
        var onTime = await ReservationsAfterOneCall(sentLateBy: TimeSpan.Zero);
        var late = await ReservationsAfterOneCall(sentLateBy: TimeSpan.FromMilliseconds(60));

        // Replica A's call left 60 ms after its reservation, 10 ms of which the transit allowance covers: its next lease
        // carries the 50 ms to the row, and every reservation made after it, A's own and then B's, is 50 ms later.
        Assert.Equal(50, (late.NextOfA - onTime.NextOfA).TotalMilliseconds, 1);
        Assert.Equal(50, (late.NextOfB - onTime.NextOfB).TotalMilliseconds, 1);
    }

    /// <summary>Replica A sends one call <paramref name="sentLateBy"/> after its reservation and reports its answer; then A
    /// and B each take a token. Returns their reservations, from the start.</summary>
    private static async Task<(TimeSpan NextOfA, TimeSpan NextOfB)> ReservationsAfterOneCall(TimeSpan sentLateBy)
    {
        var time = new FakeTimeProvider();
        var start = time.GetUtcNow();
        var store = new InMemoryRateBudgetStore(time);
        var options = new UpflowOptions { MaxRequestsPerSecond = 10 };
        var replicaA = Budget(store, time, options);
        var replicaB = Budget(store, time, options);

        var due = await Acquire(replicaA, time);
        time.Advance(sentLateBy);
        var call = await replicaA.SendAsync(due, CancellationToken.None);
        time.Advance(TimeSpan.FromMilliseconds(20));
        replicaA.ReportReceived(call);
        var nextOfA = await Acquire(replicaA, time);
        var nextOfB = await Acquire(replicaB, time);
        return (nextOfA - start, nextOfB - start);
    }

    [Fact]
    public async Task Lease_AnswerSlowerThanOneSeenBefore_ReservesOnTheQuickerReadingOfTheStoresClock()
    {
        // Replica A's row updates answer 40 ms late, except the first (the one before its first lease); B's at once. Both
        // share one clock, so the store's reservations are the times to send at: read by each answer's own delay, A's
        // would leave 40 ms late, 40 ms closer to B's next one.
        var time = new FakeTimeProvider();
        var start = time.GetUtcNow();
        var store = new InMemoryRateBudgetStore(time);
        var options = new UpflowOptions { MaxRequestsPerSecond = 10 };
        var replicaA = Budget(new SlowAnswers(store, time, answer => answer == 0 ? TimeSpan.Zero : TimeSpan.FromMilliseconds(40)),
            time, options);
        var replicaB = Budget(store, time, options);

        var reservations = new List<DateTimeOffset>();
        for (var i = 0; i < 4; i++)
        {
            reservations.Add(await Acquire(replicaA, time));
            reservations.Add(await Acquire(replicaB, time));
        }

        // One every 1/rate and the transit allowance (101 ms at 10/s), in the order taken.
        var spacing = SendingWindow.Spacing(10).TotalMilliseconds;
        Assert.All(reservations.Zip(reservations.Skip(1)),
            pair => Assert.InRange((pair.Second - pair.First).TotalMilliseconds, spacing - 1, spacing + 1));
        Assert.Equal(spacing, (reservations[0] - start).TotalMilliseconds, 1);
    }

    [Fact]
    public async Task Lease_SlowAnswerJustAfterTheQuickReadingsWindowLapsed_StillReservesOnTheQuickReading()
    {
        // Replica A's first answers are quick, every one after them 40 ms late. 10.5 s on, the window of clock readings the
        // quick ones were in has lapsed: the first reading of the new window is a slow one, and read by it, A's next
        // reservation would leave 40 ms late, 40 ms closer to B's.
        var time = new FakeTimeProvider();
        var store = new InMemoryRateBudgetStore(time);
        var options = new UpflowOptions { MaxRequestsPerSecond = 10 };
        var replicaA = Budget(new SlowAnswers(store, time, answer => answer < 2 ? TimeSpan.Zero : TimeSpan.FromMilliseconds(40)),
            time, options);
        var replicaB = Budget(store, time, options);
        await Acquire(replicaA, time);
        await Acquire(replicaB, time);
        time.Advance(TimeSpan.FromSeconds(10.5));

        var ofA = await Acquire(replicaA, time);
        var ofB = await Acquire(replicaB, time);

        Assert.Equal(SendingWindow.Spacing(10).TotalMilliseconds, (ofB - ofA).TotalMilliseconds, 1);
    }

    /// <summary>Takes one token, moving the fake clock on 1 ms at a time; returns its reservation. Called on the test's
    /// thread, so that the lease is asked for before the clock moves.</summary>
    private static async Task<DateTimeOffset> Acquire(RateBudget budget, FakeTimeProvider time)
    {
        var acquired = budget.AcquireAsync(TimeSpan.FromSeconds(30), UpflowLane.Live, CancellationToken.None);
        await AdvanceUntil(time, () => acquired.IsCompleted, TimeSpan.FromMilliseconds(1));
        return await acquired;
    }

    /// <summary>A store whose answers come back late by <paramref name="delay"/> of the answer's index (from 0), on the
    /// fake clock: the row is read and written at once, the answer is delayed on its way back.</summary>
    private sealed class SlowAnswers(IRateBudgetStore inner, FakeTimeProvider time, Func<int, TimeSpan> delay) : IRateBudgetStore
    {
        private int _answers;

        public async Task<(T Result, DateTimeOffset Now)> UpdateAsync<T>(
            Func<RateBudgetState?, DateTimeOffset, (RateBudgetState State, T Result)> change, CancellationToken cancellationToken)
        {
            var answer = await inner.UpdateAsync(change, cancellationToken);
            var late = delay(Interlocked.Increment(ref _answers) - 1);
            if (late > TimeSpan.Zero)
                await Task.Delay(late, time, cancellationToken);
            return answer;
        }
    }

    /// <summary>Moves the fake clock on by <paramref name="step"/> (10 ms unless said) until <paramref name="condition"/>
    /// holds; bounded in real time, so a budget that never answers fails the test instead of hanging the run.</summary>
    internal static async Task AdvanceUntil(FakeTimeProvider time, Func<bool> condition, TimeSpan? step = null)
    {
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        while (!condition())
        {
            await Task.Delay(1, limit.Token);
            time.Advance(step ?? TimeSpan.FromMilliseconds(10));
        }
    }
}
