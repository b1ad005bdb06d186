using System.CommandLine;
using PortalLinkWorker.Hosting;
using PortalLinkWorker.Links;
using PortalLinkWorker.Operations;
using PortalLinkWorker.Upflow;

namespace PortalLinkWorker.Cli;

/// <summary><c>PortalLinkWorker check-config [--no-connect] [--upflow-call &lt;customerId&gt; [--against sandbox|configured]]</c>:
/// see <see cref="ConfigurationCheck"/>.</summary>
public static class CheckConfigCommand
{
    public static Command Create(CommandContext context)
    {
        var noConnect = new Option<bool>("--no-connect") { Description = "check the settings only; do not test the services" };
        var upflowCall = new Option<string>("--upflow-call")
        {
            Description = "then make ONE real call for this customer id (Upflow issues a link, shown masked, stored nowhere) and print what came back",
            HelpName = "customerId",
        };
        upflowCall.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<string>() is { } id && PortalLinkRequestValidator.ValidateCustomerId(id) is { } problem)
                result.AddError(problem);
        });
        var against = new Option<Target>("--against")
        {
            Description = "where --upflow-call goes: sandbox (https://api.sandbox.upflow.io/v1, the default) or configured (Upflow:BaseUrl)",
            DefaultValueFactory = _ => Target.Sandbox,
        };
        var command = new Command("check-config", """
            print the effective settings (secrets masked), check them, and test RabbitMQ, PostgreSQL and Upflow
            (exit 0 all good, 1 a service failed, 2 a setting is invalid)
            """) { noConnect, upflowCall, against };
        command.Validators.Add(result =>
        {
            if (result.GetValue(noConnect) && result.GetValue(upflowCall) is not null)
                result.AddError("--upflow-call makes a call; it cannot go with --no-connect.");
        });
        command.SetAction((result, cancellationToken) => RunAsync(context, connect: !result.GetValue(noConnect),
            result.GetValue(upflowCall), result.GetValue(against), cancellationToken));
        return command;
    }

    /// <summary>Where <c>--upflow-call</c> goes.</summary>
    public enum Target
    {
        Sandbox,
        Configured,
    }

    private static async Task<int> RunAsync(CommandContext context, bool connect, string? customerId, Target target,
        CancellationToken cancellationToken)
    {
        var builder = PortalLinkWorkerHost.CreateBuilder(context.Settings);
        // The report is the output; the libraries' own logging would interleave with it.
        builder.Logging.ClearProviders();
        builder.Services.AddPortalLinkOptions();
        builder.Services.AddPortalLinkDatabase();
        builder.Services.AddUpflowClient();
        using var host = builder.Build();
        UpflowCall? call = null;
        if (customerId is not null)
        {
            var baseUrl = target == Target.Sandbox ? UpflowContractCheck.SandboxBaseUrl
                : host.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<UpflowOptions>>().Value.BaseUrl;
            call = new UpflowCall(baseUrl, customerId, UpflowContractCheck.CallExpiresIn);
        }
        return await new ConfigurationCheck(host.Services, builder.Configuration, context.Output).RunAsync(connect, cancellationToken, call);
    }
}
