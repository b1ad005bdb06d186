using System.CommandLine;
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
    public static Command Create(CommandContext context)
    {
        var bulk = new Option<bool>("--bulk") { Description = "generate-portal-link-bulk_error (campaign items) instead" };
        var max = new Option<int>("--max")
        {
            Description = "move at most this many messages (default: all)",
            HelpName = "n",
            CustomParser = result => CommandLineOptions.ParsePositive(result, "--max takes a positive number.") ?? 0,
            DefaultValueFactory = _ => int.MaxValue,
        };
        var command = new Command("redeliver-errors", """
            move messages from generate-portal-link_error back to generate-portal-link for another try (after fixing the
            cause); --bulk: generate-portal-link-bulk_error (campaign items)
            """) { bulk, max };
        command.SetAction((result, cancellationToken) => RunAsync(context, result.GetValue(bulk)
            ? GeneratePortalLinkBulkConsumerDefinition.QueueName : GeneratePortalLinkConsumerDefinition.QueueName, result.GetValue(max), cancellationToken));
        return command;
    }

    private static async Task<int> RunAsync(CommandContext context, string queue, int max, CancellationToken cancellationToken)
    {
        var uri = PortalLinkWorkerHost.CreateBuilder(context.Settings).Configuration.GetConnectionString("RabbitMq");
        if (RabbitMqAddress.TryParse(uri ?? "") is null)
        {
            await Console.Error.WriteLineAsync("ConnectionStrings:RabbitMq is missing or not an AMQP URI (environment variable ConnectionStrings__RabbitMq).");
            return PortalLinkCommandLine.ExitUsage;
        }
        var moved = await MoveAsync(new Uri(uri!), max, cancellationToken, queue);
        await context.Output.WriteLineAsync($"moved {moved} message(s) from {queue}_error to {queue}");
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
