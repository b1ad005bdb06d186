using System.Globalization;
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
    private const int ExitUsage = 64;
    private static readonly TimeSpan DefaultWait = TimeSpan.FromSeconds(60);

    public static async Task<int> RunAsync(string[] args)
    {
        var (request, wait, timeout, settings, error) = Parse(args);
        if (error is not null)
        {
            await Console.Error.WriteLineAsync($"{error}\n\n{WorkerCommands.Usage}");
            return ExitUsage;
        }

        var configuration = PortalLinkWorkerHost.CreateBuilder(settings).Configuration;
        var address = RabbitMqAddress.TryParse(configuration.GetConnectionString("RabbitMq") ?? "");
        if (address is null)
        {
            await Console.Error.WriteLineAsync("ConnectionStrings:RabbitMq is missing or not an AMQP URI (environment variable ConnectionStrings__RabbitMq).");
            return ExitUsage;
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

    private static (GeneratePortalLink Request, bool Wait, TimeSpan Timeout, string[] Settings, string? Error) Parse(string[] args)
    {
        string? customerId = null;
        int? expiresIn = null;
        string? frameAncestors = null;
        Guid requestId = Guid.NewGuid();
        Guid? campaignId = null;
        var wait = false;
        var timeout = DefaultWait;
        var settings = new List<string>();
        string? error = null;

        for (var i = 0; i < args.Length && error is null; i++)
        {
            string? Value() => i + 1 < args.Length ? args[++i] : null;
            switch (args[i])
            {
                case "--wait":
                    wait = true;
                    break;
                case "--expires-in":
                    if (int.TryParse(Value(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var seconds))
                        expiresIn = seconds;
                    else
                        error = "--expires-in takes a whole number of seconds.";
                    break;
                case "--frame-ancestors":
                    frameAncestors = Value() ?? "";
                    break;
                case "--request-id":
                    if (Guid.TryParse(Value(), out var id))
                        requestId = id;
                    else
                        error = "--request-id takes a UUID.";
                    break;
                case "--campaign-id":
                    if (Guid.TryParse(Value(), out var campaign))
                        campaignId = campaign;
                    else
                        error = "--campaign-id takes a UUID.";
                    break;
                case "--timeout":
                    if (int.TryParse(Value(), NumberStyles.None, CultureInfo.InvariantCulture, out var limit) && limit > 0)
                        timeout = TimeSpan.FromSeconds(limit);
                    else
                        error = "--timeout takes a positive number of seconds.";
                    break;
                case var setting when setting.StartsWith("--", StringComparison.Ordinal) && setting.Contains('='):
                    settings.Add(setting);
                    break;
                case var option when option.StartsWith("--", StringComparison.Ordinal):
                    error = $"Unknown option '{option}'.";
                    break;
                default:
                    if (customerId is null)
                        customerId = args[i];
                    else
                        error = $"Unexpected argument '{args[i]}': one customer id per request.";
                    break;
            }
        }
        if (error is null && customerId is null)
            error = "request needs a customer id: an Upflow UUID or external:<id>.";
        return (new GeneratePortalLink(requestId, customerId ?? "", expiresIn, frameAncestors, campaignId), wait, timeout,
            settings.ToArray(), error);
    }
}
