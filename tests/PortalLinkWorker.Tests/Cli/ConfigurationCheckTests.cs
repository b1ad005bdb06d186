using PortalLinkWorker.Cli;
using Microsoft.Extensions.Logging;
using PortalLinkWorker.Hosting;
using PortalLinkWorker.Operations;
using PortalLinkWorker.Upflow;

namespace PortalLinkWorker.Tests.Cli;

[Trait("Category", "Unit")]
public sealed class ConfigurationCheckTests
{
    private const string Secret = "s3cr3t-value-9d2";
    private const string Password = "pg-password-77x";

    private static (ConfigurationCheck Check, StringWriter Output) Check(params (string Key, string? Value)[] settings)
    {
        var builder = PortalLinkWorkerHost.CreateBuilder([]);
        builder.Configuration.AddInMemoryCollection(settings.Select(s => KeyValuePair.Create(s.Key, s.Value)));
        builder.Logging.ClearProviders();
        builder.Services.AddPortalLinkOptions();
        builder.Services.AddPortalLinkDatabase();
        builder.Services.AddUpflowClient();
        var output = new StringWriter();
        return (new ConfigurationCheck(builder.Build().Services, builder.Configuration, output), output);
    }

    /// <summary>A valid Database:UrlKeys (declared before <see cref="Valid"/>, which reads it); check-config must mask it
    /// like any key.</summary>
    private static readonly string UrlKey = PortalLinkWorker.TestKit.WorkerSettings.NewUrlKey();

    private static readonly (string, string?)[] Valid =
    [
        ("ConnectionStrings:Postgres", $"Host=127.0.0.1;Port=1;Database=x;Username=u;Password={Password}"),
        ("ConnectionStrings:RabbitMq", $"amqp://u:{Password}@127.0.0.1:1/"),
        ("Upflow:BaseUrl", "http://127.0.0.1:1/v1"),
        ("Upflow:ApiKey", "key-0123456789abcdef"),
        ("Upflow:ApiSecret", Secret),
        ("Database:UrlKeys", UrlKey),
    ];

    [Fact]
    public async Task InvalidSettings_OneLineEach_NamingTheSetting_NeverTheValue_Exit2()
    {
        var (check, output) = Check([.. Valid.Where(s => s.Item1 != "Upflow:ApiSecret"), ("Upflow:ApiSecret", ""), ("Consumer:PrefetchCount", "0"),
            ("Upflow:AttemptTimeout", Secret), ("Logging:Format", "xml"), ("Database:StartupWait", "-00:00:01")]);

        Assert.Equal(ConfigurationCheck.InvalidSettings, await check.RunAsync(connect: true, CancellationToken.None));
        var text = output.ToString();
        Assert.Contains("✗ Upflow:AttemptTimeout is not a valid duration", text);
        Assert.Contains("✗ Consumer:PrefetchCount must be between 1 and 10000 (environment variable Consumer__PrefetchCount).", text);
        Assert.Contains("✗ Logging:Format must be text or json", text);
        Assert.Contains("✗ Database:StartupWait must be between", text);
        Assert.DoesNotContain(Secret, text);
        Assert.DoesNotContain(Password, text);
        Assert.DoesNotContain("Connectivity", text);
    }

    [Fact]
    public async Task BadCampaignSettings_Reported_NeverTheValue_Exit2()
    {
        var (check, output) = Check([.. Valid, ("Campaigns:BatchSize", "0"), ("Campaigns:CompletionSweepInterval", Secret)]);

        Assert.Equal(ConfigurationCheck.InvalidSettings, await check.RunAsync(connect: false, CancellationToken.None));
        var text = output.ToString();
        Assert.Contains("Invalid settings (2):", text);
        Assert.Contains("✗ Campaigns:CompletionSweepInterval is not a valid duration", text);
        Assert.Contains("✗ Campaigns:BatchSize must be between 1 and 100000", text);
        Assert.DoesNotContain(Secret, text);

        (check, output) = Check([.. Valid, ("Campaigns:BatchSize", "0"), ("Campaigns:MaxMessageSize", "1024")]);
        Assert.Equal(ConfigurationCheck.InvalidSettings, await check.RunAsync(connect: false, CancellationToken.None));
        text = output.ToString();
        Assert.Contains("Invalid settings (2):", text);
        Assert.Contains("✗ Campaigns:BatchSize must be between 1 and 100000 (environment variable Campaigns__BatchSize).", text);
        Assert.Contains("✗ Campaigns:MaxMessageSize must be between 65536 and 16777216 (environment variable Campaigns__MaxMessageSize).", text);
        // The section is printed with the rest, defaults included.
        Assert.Contains("Campaigns:BatchSize = 0", text);
        Assert.Contains("Campaigns:CompletionSweepGrace = 00:00:10", text);
    }

    [Fact]
    public async Task MoreMessagesAtOnceThanPooledConnections_Warned_StillValid()
    {
        var (check, output) = Check([.. Valid, ("Consumer:ConcurrentMessageLimit", "128")]);

        Assert.Equal(ConfigurationCheck.Ok, await check.RunAsync(connect: false, CancellationToken.None));
        Assert.Contains("! Consumer:ConcurrentMessageLimit + Consumer:BulkConcurrentMessageLimit = 136 messages at once", output.ToString());
        (check, output) = Check(Valid);
        Assert.Equal(ConfigurationCheck.Ok, await check.RunAsync(connect: false, CancellationToken.None));
        Assert.DoesNotContain("Maximum Pool Size", output.ToString());
    }

    [Fact]
    public async Task ValidSettings_PrintedMasked_WithDefaults()
    {
        var (check, output) = Check(Valid);

        Assert.Equal(ConfigurationCheck.Ok, await check.RunAsync(connect: false, CancellationToken.None));
        var text = output.ToString();
        Assert.Contains("Upflow:ApiSecret = ****", text);
        Assert.Contains("Upflow:ApiKey = key-… (20 characters)", text);
        Assert.Contains("ConnectionStrings:RabbitMq = amqp://u:****@127.0.0.1:1/", text);
        Assert.Contains("Password=****", text);
        Assert.Contains("Upflow:MaxConcurrentRequests = 5", text);
        Assert.Contains("Consumer:StopTimeout = 00:00:20", text);
        Assert.Contains("Database:UrlKeys = ****", text);
        Assert.Contains("Database:UrlRetention = 7.00:00:00", text);
        Assert.DoesNotContain(Secret, text);
        Assert.DoesNotContain(Password, text);
        Assert.DoesNotContain(UrlKey, text);
    }

    [Fact]
    public async Task UrlKeysMissing_Refused_NamingTheSetting_Exit2()
    {
        var (check, output) = Check([.. Valid.Where(s => s.Item1 != "Database:UrlKeys")]);

        Assert.Equal(ConfigurationCheck.InvalidSettings, await check.RunAsync(connect: false, CancellationToken.None));
        Assert.Contains("Database:UrlKeys", output.ToString());
    }

    [Fact]
    public async Task NothingListens_EachServiceFails_Exit1()
    {
        // Port 1 on the loopback: refused at once.
        var (check, output) = Check(Valid);

        Assert.Equal(ConfigurationCheck.ServiceFailed, await check.RunAsync(connect: true, CancellationToken.None));
        var text = output.ToString();
        Assert.Contains("✗ RabbitMQ:", text);
        Assert.Contains("✗ PostgreSQL:", text);
        Assert.Contains("✗ Upflow: http://127.0.0.1:1/v1 does not answer", text);
        Assert.DoesNotContain(Secret, text);
        Assert.DoesNotContain(Password, text);
    }

    [Fact]
    public void SettingsValidation_CollectsEverySection()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(
            [KeyValuePair.Create("Consumer:PrefetchCount", (string?)"0"), KeyValuePair.Create("Upflow:ApiKey", (string?)"")]).Build();
        var error = Assert.Throws<InvalidSettingsException>(() => SettingsValidation.ThrowIfInvalid(configuration));
        Assert.Contains(error.Problems, p => p.StartsWith("Consumer:PrefetchCount", StringComparison.Ordinal));
        Assert.Contains(error.Problems, p => p.StartsWith("Upflow:ApiKey is missing", StringComparison.Ordinal));
        Assert.Contains(error.Problems, p => p.StartsWith("Upflow:ApiSecret is missing", StringComparison.Ordinal));
        Assert.Contains(error.Problems, p => p.StartsWith("ConnectionStrings:Postgres is missing", StringComparison.Ordinal));
    }
}
