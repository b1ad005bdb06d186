using System.CommandLine;
using MassTransit;
using PortalLinkContracts;
using PortalLinkWorker.Hosting;
using PortalLinkWorker.Messaging;

namespace PortalLinkWorker.Cli;

/// <summary><c>PortalLinkWorker request &lt;customerId&gt; …</c>: publishes one <see cref="GeneratePortalLink"/> and, with
/// <c>--wait</c>, prints the outcome when its event arrives. The URL goes to standard output, which is the point of the
/// command; it is never written to a log.</summary>
public static class RequestCommand
{
    private const int ExitGenerated = 0;
    private const int ExitFailed = 1;
    private const int ExitTimedOut = 2;
    private static readonly TimeSpan DefaultWait = TimeSpan.FromSeconds(60);

    public static Command Create(CommandContext context)
    {
        var customerId = new Argument<string>("customerId") { Description = "an Upflow customer UUID, or external:<id>" };
        var expiresIn = CommandLineOptions.ExpiresIn();
        // Sent as given, so that the worker's own answer to a bad value (InvalidRequest) can be seen.
        var frameAncestors = CommandLineOptions.FrameAncestors(validate: false);
        var reuse = CommandLineOptions.ReuseIfValidFor();
        var requestId = new Option<Guid?>("--request-id")
        {
            Description = "the request's idempotency key (default: a new one)",
            HelpName = "uuid",
            CustomParser = result => CommandLineOptions.ParseGuid(result, "--request-id takes a UUID."),
        };
        var campaignId = CommandLineOptions.CampaignId("the campaign the request belongs to");
        var wait = CommandLineOptions.Wait("print the outcome (exit 0 generated, 1 failed, 2 no answer in time)");
        var timeout = new Option<int>("--timeout")
        {
            Description = $"how long --wait waits, in seconds (default {DefaultWait.TotalSeconds:0})",
            HelpName = "seconds",
            CustomParser = result => CommandLineOptions.ParsePositive(result, "--timeout takes a positive number of seconds.") ?? 0,
            DefaultValueFactory = _ => (int)DefaultWait.TotalSeconds,
        };
        var command = new Command("request", "publish one GeneratePortalLink; with --wait, print the outcome")
        {
            customerId, expiresIn, frameAncestors, reuse, requestId, campaignId, wait, timeout,
        };
        command.SetAction(result => RunAsync(
            new GeneratePortalLink(result.GetValue(requestId) ?? Guid.NewGuid(), result.GetRequiredValue(customerId),
                result.GetValue(expiresIn), result.GetValue(frameAncestors), result.GetValue(campaignId), result.GetValue(reuse)),
            result.GetValue(wait), TimeSpan.FromSeconds(result.GetValue(timeout)), context.Settings));
        return command;
    }

    private static async Task<int> RunAsync(GeneratePortalLink request, bool wait, TimeSpan timeout, string[] settings)
    {
        var configuration = PortalLinkWorkerHost.CreateBuilder(settings).Configuration;
        var address = RabbitMqAddress.TryParse(configuration.GetConnectionString("RabbitMq") ?? "");
        if (address is null)
        {
            await Console.Error.WriteLineAsync("ConnectionStrings:RabbitMq is missing or not an AMQP URI (environment variable ConnectionStrings__RabbitMq).");
            return PortalLinkCommandLine.ExitUsage;
        }

        var outcome = new TaskCompletionSource<object>(TaskCreationOptions.RunContinuationsAsynchronously);
        var bus = Bus.Factory.CreateUsingRabbitMq(rabbit =>
        {
            address.ApplyTo(rabbit);
            if (wait)
                rabbit.ReceiveEndpoint(new TemporaryEndpointDefinition(), endpoint =>
                {
                    endpoint.Handler<PortalLinkGenerated>(c => Answer(c.Message.RequestId, c.Message));
                    endpoint.Handler<PortalLinkFailed>(c => Answer(c.Message.RequestId, c.Message));
                });
        });

        Task Answer(Guid requestId, object message)
        {
            if (requestId == request.RequestId)
                outcome.TrySetResult(message);
            return Task.CompletedTask;
        }

        using var deadline = new CancellationTokenSource(timeout);
        await bus.StartAsync(deadline.Token);
        try
        {
            await bus.Publish(request, deadline.Token);
            Console.WriteLine($"published  request {request.RequestId} for {request.CustomerId}");
            if (!wait)
                return ExitGenerated;
            try
            {
                return Print(await outcome.Task.WaitAsync(deadline.Token));
            }
            catch (OperationCanceledException)
            {
                Console.WriteLine($"no answer within {timeout.TotalSeconds:0} s: is the worker running? (request {request.RequestId})");
                return ExitTimedOut;
            }
        }
        finally
        {
            await bus.StopAsync(CancellationToken.None);
        }
    }

    private static int Print(object outcome)
    {
        switch (outcome)
        {
            case PortalLinkGenerated generated:
                Console.WriteLine($"generated  {generated.CustomerId}");
                Console.WriteLine($"  url:        {generated.Url}");
                Console.WriteLine($"  expires at: {generated.ExpiresAt:O}");
                return ExitGenerated;
            case PortalLinkFailed failed:
                Console.WriteLine($"failed     {failed.CustomerId}: {failed.Reason}: {failed.Message}");
                return ExitFailed;
            default:
                throw new InvalidOperationException($"Unexpected outcome {outcome.GetType().Name}.");
        }
    }
}
