using RabbitMQ.Client;

namespace PortalLinkWorker.Tests.Integration;

/// <summary>Plain AMQP access to the worker's queues, as a publisher without MassTransit has it.</summary>
public static class RawQueue
{
    public static async Task PublishAsync(string rabbitMq, string queue, byte[] body, string? contentType, string? messageType = null)
    {
        await using var connection = await new ConnectionFactory { Uri = new Uri(rabbitMq) }.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync(new CreateChannelOptions(true, true));
        var properties = new BasicProperties { ContentType = contentType, Persistent = true };
        if (messageType is not null)
            properties.Type = messageType;
        await channel.BasicPublishAsync("", queue, true, properties, body);
    }

    /// <summary>Messages ready in a queue; 0 when it does not exist yet.</summary>
    public static async Task<uint> DepthAsync(string rabbitMq, string queue)
    {
        await using var connection = await new ConnectionFactory { Uri = new Uri(rabbitMq) }.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync();
        try
        {
            return (await channel.QueueDeclarePassiveAsync(queue)).MessageCount;
        }
        catch (RabbitMQ.Client.Exceptions.OperationInterruptedException)
        {
            return 0;
        }
    }

    public static async Task PurgeAsync(string rabbitMq, string queue)
    {
        await using var connection = await new ConnectionFactory { Uri = new Uri(rabbitMq) }.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync();
        try
        {
            await channel.QueuePurgeAsync(queue);
        }
        catch (RabbitMQ.Client.Exceptions.OperationInterruptedException)
        {
        }
    }

    /// <summary>The headers of the messages in a queue, read without taking them.</summary>
    public static async Task<List<IDictionary<string, object?>>> PeekHeadersAsync(string rabbitMq, string queue)
    {
        await using var connection = await new ConnectionFactory { Uri = new Uri(rabbitMq) }.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync();
        var headers = new List<IDictionary<string, object?>>();
        while (await channel.BasicGetAsync(queue, false) is { } message)
            headers.Add(message.BasicProperties.Headers ?? new Dictionary<string, object?>());
        return headers; // closing the channel without acks returns every message to the queue
    }
}
