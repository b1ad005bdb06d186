namespace PortalLinkWorker.Upflow;

/// <summary>The account's call slots, shared by every replica: slot <c>i</c> is held by at most one process at a time,
/// and a process that dies releases its slots with it.</summary>
public interface IUpflowSlotLocks
{
    /// <summary>Takes one free slot numbered from <paramref name="from"/> up to (not including) <paramref name="to"/>,
    /// other than those in <paramref name="skip"/> (left to the other replicas) and never one this process holds already:
    /// the store keeps what its session holds; null when every one is taken.</summary>
    Task<int?> TryTakeAsync(int from, int to, IReadOnlyCollection<int> skip, CancellationToken cancellationToken);

    /// <summary>Raised when the slots this process held were lost (its session with the store ended): none is held now.</summary>
    event Action? SlotsLost;

    /// <summary>Gives a slot back.</summary>
    Task ReleaseAsync(int slot, CancellationToken cancellationToken);
}
