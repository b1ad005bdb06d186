using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;

namespace PortalLinkWorker.TestKit;

/// <summary>Plain AMQP access to the worker's queues, as a publisher without MassTransit has it.</summary>
public static class RawQueue
{
    public static async Task PublishAsync(string rabbitMq, string queue, byte[] body, string? contentType, string? messageType = null)
    {
        await using var connection = await ConnectAsync(rabbitMq);
        await using var channel = await connection.CreateChannelAsync(new CreateChannelOptions(true, true));
        var properties = new BasicProperties { ContentType = contentType, Persistent = true };
        if (messageType is not null)
            properties.Type = messageType;
        await channel.BasicPublishAsync("", queue, true, properties, body);
    }

    /// <summary>Messages ready in a queue; 0 when it does not exist yet.</summary>
    public static async Task<uint> DepthAsync(string rabbitMq, string queue) =>
        (await DeclarePassiveAsync(rabbitMq, queue))?.MessageCount ?? 0;

    /// <summary>Consumers on a queue, or -1 while it does not exist.</summary>
    public static async Task<int> ConsumersAsync(string rabbitMq, string queue) =>
        (await DeclarePassiveAsync(rabbitMq, queue)) is { } declared ? (int)declared.ConsumerCount : -1;

    /// <summary>Empties a queue; nothing to do when it does not exist.</summary>
    public static async Task PurgeAsync(string rabbitMq, string queue)
    {
        await using var connection = await ConnectAsync(rabbitMq);
        await using var channel = await connection.CreateChannelAsync();
        try
        {
            await channel.QueuePurgeAsync(queue);
        }
        catch (OperationInterruptedException)
        {
        }
    }

    /// <summary>Deletes a queue (and, with <paramref name="exchangeToo"/>, MassTransit's exchange of the same name) with
    /// whatever it holds; nothing to do when it does not exist.</summary>
    public static async Task DeleteAsync(string rabbitMq, string queue, bool exchangeToo = false)
    {
        await using var connection = await ConnectAsync(rabbitMq);
        await using (var channel = await connection.CreateChannelAsync())
        {
            try
            {
                await channel.QueueDeleteAsync(queue, ifUnused: false, ifEmpty: false);
            }
            catch (OperationInterruptedException)
            {
            }
        }
        if (exchangeToo)
        {
            await using var channel = await connection.CreateChannelAsync();
            await channel.ExchangeDeleteAsync(queue);
        }
    }

    /// <summary>The headers of the messages in a queue, read without taking them.</summary>
    public static async Task<List<IDictionary<string, object?>>> PeekHeadersAsync(string rabbitMq, string queue)
    {
        await using var connection = await ConnectAsync(rabbitMq);
        await using var channel = await connection.CreateChannelAsync();
        var headers = new List<IDictionary<string, object?>>();
        while (await channel.BasicGetAsync(queue, false) is { } message)
            headers.Add(message.BasicProperties.Headers ?? new Dictionary<string, object?>());
        return headers; // closing the channel without acks returns every message to the queue
    }

    private static async Task<QueueDeclareOk?> DeclarePassiveAsync(string rabbitMq, string queue)
    {
        await using var connection = await ConnectAsync(rabbitMq);
        await using var channel = await connection.CreateChannelAsync();
        try
        {
            return await channel.QueueDeclarePassiveAsync(queue);
        }
        catch (OperationInterruptedException)
        {
            return null;
        }
    }

    // RabbitMQ.Client reads amqps:// from the URI itself (TLS on, port 5671).
    private static Task<IConnection> ConnectAsync(string rabbitMq) =>
        new ConnectionFactory { Uri = new Uri(rabbitMq) }.CreateConnectionAsync();
}
