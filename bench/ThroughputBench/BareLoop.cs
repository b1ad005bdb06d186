using System.Runtime.InteropServices;
using System.Text.Json;
using Npgsql;
using PortalLinkContracts;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;

namespace ThroughputBench;

/// <summary>
/// The bare-loop ceiling (child mode <c>--role bare-loop</c>): exactly the worker's I/O per link with none of its machinery.
/// Consume a GeneratePortalLink (MassTransit's JSON envelope, manual ack, prefetch and dispatch concurrency C) → INSERT
/// the pending row → POST to the simulator → UPDATE the row with url and expiry → publish PortalLinkGenerated in
/// MassTransit's envelope with publisher confirms → ack. No validation, rate budget, EF Core, row lock, resilience
/// pipeline or logging. <c>--upflow-concurrency U</c> (default C) lets at most U simulator calls out at once, as the
/// worker's <c>Upflow:MaxConcurrentRequests</c> does (the shipped defaults: 16 messages, 5 calls). Runs until SIGTERM.
/// </summary>
internal static class BareLoop
{
    public const string Queue = "perf-bare-loop";
    public const string CommandExchange = "PortalLinkContracts:GeneratePortalLink";
    public const string EventExchange = "PortalLinkContracts:PortalLinkGenerated";
    private const string EventType = "urn:message:PortalLinkContracts:PortalLinkGenerated";
    private const string EnvelopeContentType = "application/vnd.masstransit+json";

    private static readonly JsonSerializerOptions Web = new(JsonSerializerDefaults.Web);

    public static async Task<int> RunAsync(string[] args)
    {
        var concurrency = BenchSettings.Int(args, "--concurrency") ?? 16;
        var prefetch = BenchSettings.Int(args, "--prefetch") ?? concurrency;
        var upflowConcurrency = BenchSettings.Int(args, "--upflow-concurrency") ?? concurrency;
        using var calls = new SemaphoreSlim(upflowConcurrency);
        await using var database = NpgsqlDataSource.Create(BenchSettings.Value(args, "--postgres")!);
        using var upflow = new UpflowCall(BenchSettings.Value(args, "--simulator")!);

        var factory = new ConnectionFactory { Uri = new Uri(BenchSettings.Value(args, "--rabbitmq")!) };
        await using var connection = await factory.CreateConnectionAsync("perf-bare-loop");
        await using var consume = await connection.CreateChannelAsync(
            new CreateChannelOptions(false, false, consumerDispatchConcurrency: (ushort)concurrency));
        // Tracking on: awaiting a publish waits for the broker's confirm, as MassTransit's publish does.
        await using var publish = await connection.CreateChannelAsync(new CreateChannelOptions(true, true, null));

        // The topology MassTransit declares for these message types (fanout, durable).
        await consume.ExchangeDeclareAsync(CommandExchange, ExchangeType.Fanout, durable: true, autoDelete: false);
        await consume.ExchangeDeclareAsync(EventExchange, ExchangeType.Fanout, durable: true, autoDelete: false);
        await consume.QueueDeclareAsync(Queue, durable: true, exclusive: false, autoDelete: false);
        await consume.QueueBindAsync(Queue, CommandExchange, "");
        await consume.BasicQosAsync(0, (ushort)prefetch, false);

        var errors = 0;
        var consumer = new AsyncEventingBasicConsumer(consume);
        consumer.ReceivedAsync += async (_, delivery) =>
        {
            try
            {
                await HandleAsync(delivery.Body, database, upflow, calls, publish);
                await consume.BasicAckAsync(delivery.DeliveryTag, false);
            }
            catch (Exception e)
            {
                if (Interlocked.Increment(ref errors) <= 10)
                    Console.Error.WriteLine($"bare loop: {e.GetType().Name}: {e.Message}");
                await consume.BasicNackAsync(delivery.DeliveryTag, false, requeue: false);
            }
        };
        await consume.BasicConsumeAsync(Queue, autoAck: false, consumer);
        Console.WriteLine($"READY concurrency {concurrency}, prefetch {prefetch}, Upflow calls {upflowConcurrency}");

        var stop = new TaskCompletionSource();
        using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c =>
        {
            c.Cancel = true;
            stop.TrySetResult();
        });
        await stop.Task;
        await consume.CloseAsync();
        Console.WriteLine($"stopped, {errors} errors");
        return 0;
    }

    private static async Task HandleAsync(ReadOnlyMemory<byte> body, NpgsqlDataSource database, UpflowCall upflow, SemaphoreSlim calls,
        IChannel publish)
    {
        Guid requestId;
        string customerId;
        int expiresIn;
        Guid? campaignId;
        using (var envelope = JsonDocument.Parse(body))
        {
            var message = envelope.RootElement.GetProperty("message");
            requestId = message.GetProperty("requestId").GetGuid();
            customerId = message.GetProperty("customerId").GetString()!;
            expiresIn = message.TryGetProperty("expiresIn", out var e) && e.ValueKind == JsonValueKind.Number
                ? e.GetInt32() : UpflowCall.DefaultExpiresIn;
            campaignId = message.TryGetProperty("campaignId", out var c) && c.ValueKind == JsonValueKind.String ? c.GetGuid() : null;
        }

        var now = DateTimeOffset.UtcNow;
        await using (var insert = database.CreateCommand(LinkTable.InsertPending))
        {
            insert.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = requestId });
            insert.Parameters.Add(new NpgsqlParameter<string> { TypedValue = customerId });
            insert.Parameters.Add(new NpgsqlParameter<int> { TypedValue = expiresIn });
            insert.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = now });
            await insert.ExecuteNonQueryAsync();
        }

        string url;
        await calls.WaitAsync();
        try
        {
            url = await upflow.CreatePortalLinkAsync(customerId, expiresIn);
        }
        finally
        {
            calls.Release();
        }
        var generatedAt = DateTimeOffset.UtcNow;
        var expiresAt = generatedAt.AddSeconds(expiresIn);

        await using (var update = database.CreateCommand(LinkTable.MarkGenerated))
        {
            update.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = requestId });
            update.Parameters.Add(new NpgsqlParameter<string> { TypedValue = url });
            update.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = expiresAt });
            update.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = generatedAt });
            await update.ExecuteNonQueryAsync();
        }

        var messageId = Guid.NewGuid();
        var envelopeOut = JsonSerializer.SerializeToUtf8Bytes(new EventEnvelope(
            messageId, [EventType], DateTime.UtcNow,
            new PortalLinkGenerated(requestId, customerId, url, expiresAt, generatedAt, campaignId)), Web);
        var properties = new BasicProperties
        {
            ContentType = EnvelopeContentType,
            DeliveryMode = DeliveryModes.Persistent,
            MessageId = messageId.ToString(),
        };
        await publish.BasicPublishAsync(EventExchange, "", false, properties, envelopeOut);
    }

    /// <summary>The fields of MassTransit's JSON envelope a MassTransit consumer needs.</summary>
    private sealed record EventEnvelope(Guid MessageId, string[] MessageType, DateTime SentTime, PortalLinkGenerated Message);
}
