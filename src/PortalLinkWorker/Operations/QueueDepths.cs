using Microsoft.Extensions.Options;
using PortalLinkWorker.Persistence;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;
using PortalLinkWorker.Messaging;

namespace PortalLinkWorker.Operations;

/// <summary>
/// Messages ready and consumers of each <see cref="MonitoredQueues"/> queue, read with a passive queue declare on a
/// connection of its own (the management plugin is not needed, and the bus's connection is left alone). The answer is
/// kept for <see cref="CacheFor"/> so that a status page open in many browsers costs one round trip.
/// </summary>
public sealed class QueueDepths(IOptions<ConnectionOptions> connections, TimeProvider time) : IAsyncDisposable
{
    public static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(3);

    private readonly SemaphoreSlim _gate = new(1, 1);
    private IConnection? _connection;
    private IReadOnlyList<Depth>? _last;
    private DateTimeOffset _lastAt;

    /// <summary>One queue: <see cref="Error"/> says why the numbers are missing (no such queue yet, broker unreachable).</summary>
    public sealed record Depth(string Name, long? Messages, long? Consumers, string? Error);

    public async Task<IReadOnlyList<Depth>> ReadAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (_last is not null && time.GetUtcNow() - _lastAt < CacheFor)
                return _last;
            _last = await ReadCoreAsync(cancellationToken);
            _lastAt = time.GetUtcNow();
            return _last;
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task<IReadOnlyList<Depth>> ReadCoreAsync(CancellationToken cancellationToken)
    {
        try
        {
            if (_connection is not { IsOpen: true })
            {
                if (_connection is not null)
                    await _connection.DisposeAsync();
                _connection = await Factory(connections.Value.RabbitMq).CreateConnectionAsync("portal-link-worker-status", cancellationToken);
            }
        }
        catch (Exception e) when (e is BrokerUnreachableException or OperationInterruptedException or IOException or TimeoutException)
        {
            _connection = null;
            return [.. MonitoredQueues.Names.Select(n => new Depth(n, null, null, "RabbitMQ unreachable"))];
        }

        var depths = new List<Depth>();
        foreach (var name in MonitoredQueues.Names)
        {
            try
            {
                // A passive declare of a missing queue closes the channel: one channel per queue.
                await using var channel = await _connection.CreateChannelAsync(cancellationToken: cancellationToken);
                var queue = await channel.QueueDeclarePassiveAsync(name, cancellationToken);
                depths.Add(new Depth(name, queue.MessageCount, queue.ConsumerCount, null));
                await channel.CloseAsync(cancellationToken);
            }
            catch (OperationInterruptedException e) when (e.ShutdownReason?.ReplyCode == 404)
            {
                depths.Add(new Depth(name, null, null, "no such queue (yet)"));
            }
            catch (Exception e) when (e is OperationInterruptedException or AlreadyClosedException or IOException or TimeoutException)
            {
                depths.Add(new Depth(name, null, null, "RabbitMQ unreachable"));
            }
        }
        return depths;
    }

    internal static ConnectionFactory Factory(string amqpUri)
    {
        var address = RabbitMqAddress.TryParse(amqpUri) ?? throw new InvalidOperationException("ConnectionStrings:RabbitMq is not an AMQP URI.");
        return new ConnectionFactory
        {
            HostName = address.Host,
            Port = address.Port,
            VirtualHost = address.VirtualHost,
            UserName = address.Username,
            Password = address.Password,
            Ssl = { Enabled = address.UseTls, ServerName = address.Host },
            RequestedConnectionTimeout = ConnectTimeout,
            AutomaticRecoveryEnabled = false,
        };
    }

    public async ValueTask DisposeAsync()
    {
        if (_connection is not null)
            await _connection.DisposeAsync();
        _gate.Dispose();
    }
}
