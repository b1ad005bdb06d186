namespace PortalLinkWorker.Upflow;

/// <summary>Where the account's <see cref="RateBudgetState"/> lives. Every replica changes it through
/// <see cref="UpdateAsync{T}"/>, one at a time, with the store's clock, so that replicas with skewed clocks agree.</summary>
public interface IRateBudgetStore
{
    /// <summary>Reads the state (null the first time), applies <paramref name="change"/> at the store's current time, saves
    /// the new state and returns the change's result with that time.</summary>
    Task<(T Result, DateTimeOffset Now)> UpdateAsync<T>(
        Func<RateBudgetState?, DateTimeOffset, (RateBudgetState State, T Result)> change, CancellationToken cancellationToken);
}
