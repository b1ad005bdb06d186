using Npgsql;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;

namespace ThroughputBench;

/// <summary>The self-timed child modes: the naive loop and the ceilings of the parts alone. Each prints a
/// <see cref="ChildResult"/> with its own CPU over its measured window.</summary>
internal static class Baselines
{
    /// <summary><c>--role naive</c>: what a user could write instead of the worker. One customer at a time: POST to the
    /// simulator, then INSERT the finished row (plain Npgsql, auto-commit).</summary>
    public static async Task<int> NaiveAsync(string[] args)
    {
        var n = BenchSettings.Int(args, "--n")!.Value;
        var tag = Guid.NewGuid().ToString("N")[..8];
        await using var database = NpgsqlDataSource.Create(BenchSettings.Value(args, "--postgres")!);
        using var upflow = new UpflowCall(BenchSettings.Value(args, "--simulator")!);
        await WarmUpAsync(() => OneNaiveAsync(database, upflow, $"external:naive-warm-{tag}-{Guid.NewGuid():N}"));
        var result = await ChildResult.MeasureAsync(async () =>
        {
            var errors = 0;
            string? first = null;
            for (var i = 0; i < n; i++)
            {
                try
                {
                    await OneNaiveAsync(database, upflow, $"external:naive-{tag}-{i}");
                }
                catch (Exception e)
                {
                    errors++;
                    first ??= $"{e.GetType().Name}: {e.Message}";
                }
            }
            return (n - errors, errors, first);
        });
        result.Print();
        return 0;
    }

    private static async Task OneNaiveAsync(NpgsqlDataSource database, UpflowCall upflow, string customerId)
    {
        var url = await upflow.CreatePortalLinkAsync(customerId, UpflowCall.DefaultExpiresIn);
        var now = DateTimeOffset.UtcNow;
        await using var insert = database.CreateCommand(LinkTable.InsertGenerated);
        insert.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = Guid.NewGuid() });
        insert.Parameters.Add(new NpgsqlParameter<string> { TypedValue = customerId });
        insert.Parameters.Add(new NpgsqlParameter<string> { TypedValue = url });
        insert.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = now.AddSeconds(UpflowCall.DefaultExpiresIn) });
        insert.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = now });
        insert.Parameters.Add(new NpgsqlParameter<int> { TypedValue = UpflowCall.DefaultExpiresIn });
        await insert.ExecuteNonQueryAsync();
    }

    /// <summary><c>--role part-postgres</c>: single-row auto-commit INSERTs of a pending row, C at a time.</summary>
    public static async Task<int> PostgresAsync(string[] args)
    {
        var n = BenchSettings.Int(args, "--n")!.Value;
        var concurrency = BenchSettings.Int(args, "--concurrency") ?? 8;
        await using var database = NpgsqlDataSource.Create(BenchSettings.Value(args, "--postgres")!);
        await WarmUpAsync(() => InsertPendingAsync(database, $"external:pg-warm-{Guid.NewGuid():N}"));
        var result = await ChildResult.MeasureAsync(() => RunConcurrentlyAsync(n, concurrency,
            i => InsertPendingAsync(database, $"external:pg-{i}")));
        result.Print();
        return 0;
    }

    private static async Task InsertPendingAsync(NpgsqlDataSource database, string customerId)
    {
        await using var insert = database.CreateCommand(LinkTable.InsertPending);
        insert.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = Guid.NewGuid() });
        insert.Parameters.Add(new NpgsqlParameter<string> { TypedValue = customerId });
        insert.Parameters.Add(new NpgsqlParameter<int> { TypedValue = UpflowCall.DefaultExpiresIn });
        insert.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = DateTimeOffset.UtcNow });
        await insert.ExecuteNonQueryAsync();
    }

    /// <summary><c>--role part-simulator</c>: the worker's POST to the simulator, C at a time.</summary>
    public static async Task<int> SimulatorAsync(string[] args)
    {
        var n = BenchSettings.Int(args, "--n")!.Value;
        var concurrency = BenchSettings.Int(args, "--concurrency") ?? 8;
        using var upflow = new UpflowCall(BenchSettings.Value(args, "--simulator")!);
        await WarmUpAsync(() => upflow.CreatePortalLinkAsync($"external:perf-call-warm-{Guid.NewGuid():N}", UpflowCall.DefaultExpiresIn));
        var result = await ChildResult.MeasureAsync(() => RunConcurrentlyAsync(n, concurrency,
            i => upflow.CreatePortalLinkAsync($"external:perf-call-{i}", UpflowCall.DefaultExpiresIn)));
        result.Print();
        return 0;
    }

    /// <summary><c>--role part-rabbit</c>: persistent messages of the size of a GeneratePortalLink envelope published
    /// with confirms (up to <c>--concurrency</c> unconfirmed) to a durable queue, consumed with manual acks in the same
    /// process; the window ends when the last one is consumed.</summary>
    public static async Task<int> RabbitAsync(string[] args)
    {
        const string queue = "perf-part-rabbit";
        var n = BenchSettings.Int(args, "--n")!.Value;
        var concurrency = BenchSettings.Int(args, "--concurrency") ?? 8;
        var factory = new ConnectionFactory { Uri = new Uri(BenchSettings.Value(args, "--rabbitmq")!) };
        await using var connection = await factory.CreateConnectionAsync("perf-part-rabbit");
        await using var publish = await connection.CreateChannelAsync(new CreateChannelOptions(true, true, null));
        await using var consume = await connection.CreateChannelAsync();
        await consume.QueueDeclareAsync(queue, durable: true, exclusive: false, autoDelete: false);
        await consume.QueuePurgeAsync(queue);
        await consume.BasicQosAsync(0, 256, false);
        var body = new byte[MessageSize];
        Random.Shared.NextBytes(body);
        var properties = new BasicProperties { DeliveryMode = DeliveryModes.Persistent, ContentType = "application/octet-stream" };

        var consumed = 0;
        var all = new TaskCompletionSource();
        var consumer = new AsyncEventingBasicConsumer(consume);
        var target = n;
        consumer.ReceivedAsync += async (_, delivery) =>
        {
            await consume.BasicAckAsync(delivery.DeliveryTag, false);
            if (Interlocked.Increment(ref consumed) >= target)
                all.TrySetResult();
        };
        await consume.BasicConsumeAsync(queue, autoAck: false, consumer);

        // Warm-up round, not measured.
        target = 200;
        await RunConcurrentlyAsync(200, concurrency, _ => publish.BasicPublishAsync("", queue, false, properties, body).AsTask());
        await all.Task.WaitAsync(TimeSpan.FromSeconds(60));
        all = new TaskCompletionSource();
        consumed = 0;
        target = n;

        var result = await ChildResult.MeasureAsync(async () =>
        {
            var published = await RunConcurrentlyAsync(n, concurrency,
                _ => publish.BasicPublishAsync("", queue, false, properties, body).AsTask());
            await all.Task.WaitAsync(TimeSpan.FromSeconds(300));
            return (consumed, published.Errors, published.FirstError);
        });
        await consume.QueueDeleteAsync(queue);
        result.Print();
        return 0;
    }

    /// <summary>About the size of a GeneratePortalLink in MassTransit's envelope as the bench publishes it.</summary>
    private const int MessageSize = 900;

    private static async Task<(int Done, int Errors, string? FirstError)> RunConcurrentlyAsync(int n, int concurrency, Func<int, Task> one)
    {
        var next = -1;
        var errors = 0;
        string? first = null;
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async _ =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < n)
            {
                try
                {
                    await one(i);
                }
                catch (Exception e)
                {
                    Interlocked.Increment(ref errors);
                    first ??= $"{e.GetType().Name}: {e.Message}";
                }
            }
        }));
        return (n - errors, errors, first);
    }

    /// <summary>Enough calls for the JIT's tier-1 recompilation of the hot path to happen before the window opens.</summary>
    private const int WarmUpRounds = 200;

    /// <summary>The shortest warm-up: tiered compilation goes through several stages (tier 0, instrumented, tier 1),
    /// and a slow sequential loop reaches the call counts late.</summary>
    private static readonly TimeSpan WarmUpTime = TimeSpan.FromSeconds(3);

    /// <summary>A few untimed rounds so that the JIT and the connection pools are warm before the window opens.</summary>
    private static async Task WarmUpAsync(Func<Task> one)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        for (var i = 0; i < WarmUpRounds || System.Diagnostics.Stopwatch.GetElapsedTime(started) < WarmUpTime; i++)
            await one();
        // Lets the JIT's background recompilations queued by the warm-up finish outside the window.
        await Task.Delay(TimeSpan.FromSeconds(1));
    }
}
