using PortalLinkWorker.Cli;

namespace PortalLinkWorker.Tests.Cli;

/// <summary>The command line as parsed: help, usage errors (exit 64, before anything connects), the settings arguments,
/// and the one rule for ExpiresIn. Nothing here reaches a broker or a database: a command that gets past its checks
/// meets port 1 and fails there.</summary>
[Trait("Category", "Unit")]
public sealed class CommandLineTests
{
    private static readonly string[] Nowhere =
        ["--ConnectionStrings:Postgres=Host=127.0.0.1;Port=1;Database=x;Username=u;Timeout=1", "--ConnectionStrings:RabbitMq=amqp://127.0.0.1:1/"];

    [Theory]
    [InlineData("frobnicate")]
    [InlineData("request")]
    [InlineData("request", "external:1", "external:2")]
    [InlineData("request", "external:1", "--expires-in", "soon")]
    [InlineData("request", "external:1", "--request-id", "not-a-uuid")]
    [InlineData("request", "external:1", "--timeout", "0")]
    [InlineData("request", "external:1", "--bogus")]
    [InlineData("campaign")]
    [InlineData("campaign", "stop")]
    [InlineData("campaign", "start")]
    [InlineData("campaign", "start", "--file", "x.csv", "--name", "a\nb")]
    [InlineData("campaign", "start", "--file", "x.csv", "--frame-ancestors", "javascript:")]
    [InlineData("campaign", "status")]
    [InlineData("campaign", "status", "not-a-uuid")]
    [InlineData("campaign", "retry-failed", "--wait")]
    [InlineData("redeliver-errors", "--max", "0")]
    [InlineData("migrate", "--bogus")]
    [InlineData("check-config", "extra")]
    public async Task BadCommandLine_Exit64_BeforeAnythingRuns(params string[] args) =>
        Assert.Equal(PortalLinkCommandLine.ExitUsage, await PortalLinkCommandLine.RunAsync(args, new StringWriter()));

    [Fact]
    public async Task Help_ListsEveryCommand_AndEachCommandsOptions()
    {
        var output = new StringWriter();
        Assert.Equal(0, await PortalLinkCommandLine.RunAsync(["--help"], output));
        foreach (var command in new[] { "migrate", "request", "redeliver-errors", "check-config", "healthcheck", "campaign", "help" })
            Assert.Contains($"  {command}", output.ToString());

        output = new StringWriter();
        Assert.Equal(0, await PortalLinkCommandLine.RunAsync(["help", "campaign", "start"], output));
        Assert.Contains("--file <customers.csv> (REQUIRED)", output.ToString());
        Assert.Contains("--expires-in <seconds>", output.ToString());
    }

    [Fact]
    public async Task SettingBeforeThePositionalArgument_IsASetting_NotTheArgument()
    {
        // Parsed as the campaign's id, the setting would be "not a UUID" (64); as a setting, the command runs and meets
        // PostgreSQL on port 1.
        var run = PortalLinkCommandLine.RunAsync(["campaign", "status", .. Nowhere, Guid.NewGuid().ToString()], new StringWriter());
        var error = await Assert.ThrowsAnyAsync<Exception>(() => run);
        Assert.IsType<Npgsql.NpgsqlException>(error as Npgsql.NpgsqlException ?? error.InnerException);
    }

    [Theory]
    [InlineData("2147483647", null)]
    [InlineData("100", "--Upflow:MaxExpiresIn=50")]
    [InlineData("0", null)]
    public async Task CampaignStart_ExpiresInOutsideTheWorkersRule_Exit64_NothingRecorded(string expiresIn, string? setting)
    {
        var file = await CsvAsync();
        string[] args = ["campaign", "start", "--file", file, "--expires-in", expiresIn, .. Nowhere, .. setting is null ? [] : new[] { setting }];
        try
        {
            Assert.Equal(PortalLinkCommandLine.ExitUsage, await PortalLinkCommandLine.RunAsync(args, new StringWriter()));
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task CampaignStart_ExpiresInWithinTheWorkersRule_GoesOnToRecord()
    {
        var file = await CsvAsync();
        try
        {
            // Past the checks it prints the campaign, then connects to RabbitMQ on port 1 until cancelled.
            var output = new StringWriter();
            using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            var run = PortalLinkCommandLine.RunAsync(["campaign", "start", "--file", file, "--expires-in", "50", "--Upflow:MaxExpiresIn=50", .. Nowhere],
                output, cancel.Token);
            await Assert.ThrowsAnyAsync<Exception>(() => run.WaitAsync(TimeSpan.FromSeconds(60)));
            Assert.Contains("': 1 customers", output.ToString());
        }
        finally
        {
            File.Delete(file);
        }
    }

    private static async Task<string> CsvAsync()
    {
        var file = Path.Combine(Path.GetTempPath(), $"cli-{Guid.NewGuid():N}.csv");
        await File.WriteAllTextAsync(file, "customer_id\nexternal:1\n");
        return file;
    }
}
