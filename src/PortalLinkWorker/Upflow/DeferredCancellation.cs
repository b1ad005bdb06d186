namespace PortalLinkWorker.Upflow;

/// <summary>
/// A cancellation token that follows the message's token except while an Upflow call has been sent and its answer is not
/// yet saved. Cancelling then would throw away a link Upflow has already issued, and the redelivery would ask for it
/// again (Upflow has no idempotency key). MassTransit cancels the messages in flight at the end of Consumer:StopTimeout on
/// shutdown (and its RabbitMQ transport cancels pending deliveries when their channel shuts down); held work finishes
/// first, bounded by Upflow:AttemptTimeout and the database's command timeout.
/// </summary>
public sealed class DeferredCancellation : IDisposable
{
    private readonly CancellationTokenSource _source = new();
    private readonly CancellationTokenRegistration _registration;
    private readonly Lock _gate = new();
    private int _holds;
    private bool _requested;

    public DeferredCancellation(CancellationToken outer) => _registration = outer.Register(Request);

    public CancellationToken Token => _source.Token;

    /// <summary>Defers cancellation until the returned hold is released (holds nest).</summary>
    public Hold Defer()
    {
        lock (_gate)
            _holds++;
        return new Hold(this);
    }

    private void Request()
    {
        lock (_gate)
        {
            _requested = true;
            if (_holds > 0)
                return;
        }
        _source.Cancel();
    }

    private void Release()
    {
        lock (_gate)
        {
            if (--_holds > 0 || !_requested)
                return;
        }
        _source.Cancel();
    }

    public void Dispose()
    {
        _registration.Dispose();
        _source.Dispose();
    }

    /// <summary>One deferral; releasing it twice is harmless.</summary>
    public sealed class Hold(DeferredCancellation owner) : IDisposable
    {
        private DeferredCancellation? _owner = owner;

        public void Dispose() => Interlocked.Exchange(ref _owner, null)?.Release();
    }
}
