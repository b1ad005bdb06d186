using PortalLinkWorker.TestKit;

namespace PortalLinkWorker.Tests.Integration.Operations;

/// <summary>
/// The contract check against Upflow's real sandbox: <c>check-config --upflow-call</c> with the credentials and a
/// customer of a sandbox account, given by <c>UPFLOW_SANDBOX_API_KEY</c>, <c>UPFLOW_SANDBOX_API_SECRET</c> and
/// <c>UPFLOW_SANDBOX_CUSTOMER_ID</c>. Reported as skipped without them. It fails when the sandbox's answer is not what the
/// worker reads (no <c>url</c> field, a URL outside <c>Upflow:PortalHosts</c>): the sign to adapt <c>Upflow:UrlField</c>
/// or the code before production does the same.
/// </summary>
[Collection(WorkerCollection.Name)]
[Trait("Category", "Integration")]
public sealed class UpflowSandboxTests(WorkerFixture fixture)
{
    [SandboxFact]
    public async Task CheckConfig_UpflowCall_Sandbox_ReadsAPortalUrl()
    {
        var settings = new Dictionary<string, string>(fixture.Worker.Settings)
        {
            ["Upflow:ApiKey"] = SandboxFactAttribute.Variable("UPFLOW_SANDBOX_API_KEY"),
            ["Upflow:ApiSecret"] = SandboxFactAttribute.Variable("UPFLOW_SANDBOX_API_SECRET"),
            ["Upflow:PortalHosts"] = "*.upflow.io",
        };
        var customerId = SandboxFactAttribute.Variable("UPFLOW_SANDBOX_CUSTOMER_ID");

        var (exitCode, output) = await WorkerProcess.RunCommandAsync(settings, "check-config", "--upflow-call", customerId);

        Assert.True(exitCode == 0, output);
        Assert.Contains("POST https://api.sandbox.upflow.io/v1/customers/", output);
        Assert.Contains("✓ portal URL", output);
        Assert.Contains("✓ valid until", output);
        Assert.DoesNotContain(settings["Upflow:ApiSecret"], output);
    }
}

/// <summary>A fact that runs only when the sandbox variables are set; otherwise xunit reports it as skipped, saying
/// which variables to set.</summary>
public sealed class SandboxFactAttribute : FactAttribute
{
    private static readonly string[] Variables = ["UPFLOW_SANDBOX_API_KEY", "UPFLOW_SANDBOX_API_SECRET", "UPFLOW_SANDBOX_CUSTOMER_ID"];

    public SandboxFactAttribute()
    {
        if (Variables.Any(v => string.IsNullOrEmpty(Environment.GetEnvironmentVariable(v))))
            Skip = $"Upflow sandbox credentials not given: set {string.Join(", ", Variables)} to run it.";
    }

    public static string Variable(string name) => Environment.GetEnvironmentVariable(name)!;
}
