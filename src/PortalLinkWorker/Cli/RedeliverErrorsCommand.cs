using System.Globalization;
using PortalLinkWorker.Hosting;
using PortalLinkWorker.Links;
using RabbitMQ.Client;
using PortalLinkWorker.Messaging;

namespace PortalLinkWorker.Cli;

/// <summary><c>PortalLinkWorker redeliver-errors [--bulk] [--max N]</c>: moves the messages of
/// <c>generate-portal-link_error</c> back to <c>generate-portal-link</c> (with <c>--bulk</c>, the campaign lane's
/// <c>generate-portal-link-bulk_error</c> back to <c>generate-portal-link-bulk</c>) for another try, once the cause (a bug, a schema problem) is fixed. Each message
/// is published with confirmation before it is removed from the error queue: a crash in between duplicates it at worst,
/// and duplicates are harmless (RequestId).</summary>
public static class RedeliverErrorsCommand
{
    private const int ExitUsage = 64;

    public static async Task<int> RunAsync(string[] args)
    {
        var max = int.MaxValue;
        var queue = GeneratePortalLinkConsumerDefinition.QueueName;
        var settings = new List<string>();
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i] == "--bulk")
                queue = GeneratePortalLinkBulkConsumerDefinition.QueueName;
            else if (args[i] == "--max" && i + 1 < args.Length && int.TryParse(args[++i], NumberStyles.None, CultureInfo.InvariantCulture, out var limit) && limit > 0)
                max = limit;
            else if (args[i].StartsWith("--", StringComparison.Ordinal) && args[i].Contains('='))
                settings.Add(args[i]);
            else
            {
                await Console.Error.WriteLineAsync($"Unexpected argument '{args[i]}'.\n\n{WorkerCommands.Usage}");
                return ExitUsage;
            }
        }

        var uri = PortalLinkWorkerHost.CreateBuilder(settings.ToArray()).Configuration.GetConnectionString("RabbitMq");
        if (RabbitMqAddress.TryParse(uri ?? "") is null)
        {
            await Console.Error.WriteLineAsync("ConnectionStrings:RabbitMq is missing or not an AMQP URI (environment variable ConnectionStrings__RabbitMq).");
            return ExitUsage;
        }
        var moved = await MoveAsync(new Uri(uri!), max, CancellationToken.None, queue);
        Console.WriteLine($"moved {moved} message(s) from {queue}_error to {queue}");
        return 0;
    }

    public static async Task<int> MoveAsync(Uri rabbitMq, int max, CancellationToken cancellationToken,
        string queue = GeneratePortalLinkConsumerDefinition.QueueName)
    {
        var factory = new ConnectionFactory { Uri = rabbitMq, ClientProvidedName = "portal-link-worker redeliver-errors" };
        await using var connection = await factory.CreateConnectionAsync(cancellationToken);
        await using var channel = await connection.CreateChannelAsync(
            new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true), cancellationToken);
        var moved = 0;
        while (moved < max && await channel.BasicGetAsync(queue + "_error", autoAck: false, cancellationToken) is { } message)
        {
            var properties = new BasicProperties(message.BasicProperties);
            // Completes when the broker has confirmed the publish; throws if it refuses.
            await channel.BasicPublishAsync("", queue, mandatory: true, properties,
                message.Body, cancellationToken);
            await channel.BasicAckAsync(message.DeliveryTag, multiple: false, cancellationToken);
            moved++;
        }
        return moved;
    }
}
