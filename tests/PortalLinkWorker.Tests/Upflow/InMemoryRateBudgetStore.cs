using PortalLinkWorker.Upflow;

namespace PortalLinkWorker.Tests.Upflow;

/// <summary>A stand-in for the PostgreSQL store in unit tests of <see cref="RateBudget"/> (the store itself is tested
/// against PostgreSQL in the integration tests): one state, changed one caller at a time, on the given clock.</summary>
public sealed class InMemoryRateBudgetStore(TimeProvider time) : IRateBudgetStore
{
    private readonly Lock _gate = new();

    public RateBudgetState? State { get; private set; }

    public int Updates { get; private set; }

    public Task<(T Result, DateTimeOffset Now)> UpdateAsync<T>(
        Func<RateBudgetState?, DateTimeOffset, (RateBudgetState State, T Result)> change, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            var now = time.GetUtcNow();
            var (state, result) = change(State, now);
            State = state;
            Updates++;
            return Task.FromResult((result, now));
        }
    }
}
