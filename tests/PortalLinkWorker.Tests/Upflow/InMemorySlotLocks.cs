using PortalLinkWorker.Upflow;

namespace PortalLinkWorker.Tests.Upflow;

/// <summary>A stand-in for PostgreSQL's advisory locks in unit tests of <see cref="UpflowCallSlots"/> (the real store is
/// tested against PostgreSQL in PostgresSlotLocksTests): one table of slots shared by the "replicas" given the same
/// instance; <see cref="For"/> makes each replica's session.</summary>
public sealed class InMemorySlotLocks
{
    private readonly Lock _gate = new();
    private readonly Dictionary<int, object> _owners = [];

    public IUpflowSlotLocks For() => new Session(this);

    private sealed class Session(InMemorySlotLocks table) : IUpflowSlotLocks
    {
        public event Action? SlotsLost
        {
            add { }
            remove { }
        }

        public Task<int?> TryTakeAsync(int from, int to, IReadOnlyCollection<int> skip, CancellationToken cancellationToken)
        {
            lock (table._gate)
                for (var slot = from; slot < to; slot++)
                    if (!skip.Contains(slot) && !table._owners.ContainsKey(slot))
                    {
                        table._owners[slot] = this;
                        return Task.FromResult<int?>(slot);
                    }
            return Task.FromResult<int?>(null);
        }

        public Task ReleaseAsync(int slot, CancellationToken cancellationToken)
        {
            lock (table._gate)
                if (table._owners.TryGetValue(slot, out var owner) && owner == this)
                    table._owners.Remove(slot);
            return Task.CompletedTask;
        }
    }
}
