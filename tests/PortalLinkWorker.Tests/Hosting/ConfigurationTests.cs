using Microsoft.Extensions.Options;
using PortalLinkWorker.Hosting;
using PortalLinkWorker.Persistence;
using PortalLinkWorker.Messaging;

namespace PortalLinkWorker.Tests.Hosting;

[Trait("Category", "Unit")]
public sealed class ConfigurationTests
{
    private static IServiceProvider Services(params (string Key, string? Value)[] settings)
    {
        var builder = PortalLinkWorkerHost.CreateBuilder([]);
        builder.Configuration.AddInMemoryCollection(settings.Select(s => KeyValuePair.Create(s.Key, s.Value)));
        builder.Services.AddPortalLinkOptions();
        return builder.Build().Services;
    }

    [Fact]
    public void MissingUpflowCredentials_NameTheSettings()
    {
        var error = Assert.Throws<OptionsValidationException>(() =>
            Services(("Upflow:ApiKey", ""), ("Upflow:ApiSecret", "")).GetRequiredService<IOptions<PortalLinkWorker.Upflow.UpflowOptions>>().Value);
        Assert.Contains("Upflow__ApiKey", error.Message);
        Assert.Contains("Upflow__ApiSecret", error.Message);
    }

    [Fact]
    public void MalformedRabbitMqUri_NamesTheSetting_NotItsValue()
    {
        var error = Assert.Throws<OptionsValidationException>(() =>
            Services(("ConnectionStrings:Postgres", "Host=db"), ("ConnectionStrings:RabbitMq", "http://user:hunter2@host/")).GetRequiredService<IOptions<ConnectionOptions>>().Value);
        Assert.Contains("ConnectionStrings:RabbitMq", error.Message);
        Assert.DoesNotContain("hunter2", error.Message);
    }

    [Theory]
    [InlineData("not-a-url")]
    [InlineData("ftp://upflow.example/v1")]
    [InlineData("https://api.upflow.io/v1?x=1")]
    public void BadUpflowBaseUrl_StopsTheStart(string baseUrl)
    {
        var error = Assert.Throws<OptionsValidationException>(() =>
            Services(("Upflow:ApiKey", "k"), ("Upflow:ApiSecret", "s"), ("Upflow:BaseUrl", baseUrl))
                .GetRequiredService<IOptions<PortalLinkWorker.Upflow.UpflowOptions>>().Value);
        Assert.Contains("Upflow__BaseUrl", error.Message);
    }

    [Theory]
    [InlineData("")]
    [InlineData(" , ")]
    [InlineData("*")]
    [InlineData("*.io")]
    [InlineData("https://portal.example.com")]
    [InlineData("portal.example.com:443")]
    [InlineData("portal.example.com/p")]
    [InlineData("portal.example.com;evil.example")]
    [InlineData("secret-looking_value!")]
    public void BadPortalHosts_StopsTheStart_NamingTheSettingNotItsValue(string portalHosts)
    {
        var error = Assert.Throws<OptionsValidationException>(() =>
            Services(("Upflow:ApiKey", "k"), ("Upflow:ApiSecret", "s"), ("Upflow:PortalHosts", portalHosts))
                .GetRequiredService<IOptions<PortalLinkWorker.Upflow.UpflowOptions>>().Value);
        Assert.Contains("Upflow__PortalHosts", error.Message);
        // ("*" and the like also occur in the message's own example.)
        if (portalHosts.Length > 3)
            Assert.DoesNotContain(portalHosts, error.Message);
    }

    [Fact]
    public void MalformedPostgresConnectionString_NamesTheSetting_NotItsValue()
    {
        var error = Assert.Throws<OptionsValidationException>(() =>
            Services(("ConnectionStrings:Postgres", "Host=db;Password=hunter2;Bogus=1"), ("ConnectionStrings:RabbitMq", "amqp://localhost/"))
                .GetRequiredService<IOptions<ConnectionOptions>>().Value);
        Assert.Contains("ConnectionStrings:Postgres", error.Message);
        Assert.DoesNotContain("hunter2", error.Message);
    }

    [Theory]
    [InlineData("amqp://guest:guest@127.0.0.1:5672/", "127.0.0.1", 5672, "/", "guest", "guest", false)]
    [InlineData("amqp://localhost", "localhost", 5672, "/", "guest", "guest", false)]
    [InlineData("amqps://u%40x:p%3Aw@rabbit.example/prod%2Fa", "rabbit.example", 5671, "prod/a", "u@x", "p:w", true)]
    public void RabbitMqAddress_ParsesAmqpUris(string uri, string host, int port, string vhost, string user, string password, bool tls) =>
        Assert.Equal(new RabbitMqAddress(host, (ushort)port, vhost, user, password, tls), RabbitMqAddress.TryParse(uri));

    [Theory]
    [InlineData("Host=db;Database=portallink", 20)]
    [InlineData("Host=db;Max Auto Prepare=0", 0)]
    [InlineData("Host=db;maxautoprepare=5", 5)]
    public void PreparedStatements_OnByDefault_ConnectionStringWins(string connectionString, int expected)
    {
        var effective = new Npgsql.NpgsqlConnectionStringBuilder(PortalLinkWorkerServiceExtensions.WithPreparedStatements(connectionString));
        Assert.Equal(expected, effective.MaxAutoPrepare);
        Assert.Equal("db", effective.Host);
    }

    private static readonly string[] ValidArguments =
    [
        "--ConnectionStrings:Postgres=Host=127.0.0.1;Port=1;Database=x;Username=u",
        "--ConnectionStrings:RabbitMq=amqp://u:p@127.0.0.1:1/",
        "--Upflow:ApiKey=k",
        "--Upflow:ApiSecret=s",
        $"--Database:UrlKeys={PortalLinkWorker.TestKit.WorkerSettings.UrlKeys}",
    ];

    [Fact]
    public async Task ValidSettings_WorkerBuilds()
    {
        await using var app = PortalLinkWorkerHost.BuildWorker(ValidArguments);
        Assert.Equal(1_000, app.Services.GetRequiredService<IOptions<PortalLinkWorker.Campaigns.CampaignOptions>>().Value.BatchSize);
    }

    [Theory]
    [InlineData("--Campaigns:BatchSize=0", "Campaigns:BatchSize must be between 1 and 100000 (environment variable Campaigns__BatchSize).")]
    [InlineData("--Campaigns:MaxCustomerIdsPerMessage=9999", "Campaigns:MaxCustomerIdsPerMessage must be between 10000 and 1000000 (environment variable Campaigns__MaxCustomerIdsPerMessage).")]
    [InlineData("--Campaigns:CompletionSweepInterval=soon-9d2", "Campaigns:CompletionSweepInterval is not a valid duration (hh:mm:ss) (environment variable Campaigns__CompletionSweepInterval; the value is not shown).")]
    [InlineData("--Campaigns:CompletionSweepGrace=-00:00:01", "Campaigns:CompletionSweepGrace must be between 00:00:00 and 01:00:00 (environment variable Campaigns__CompletionSweepGrace).")]
    public void BadCampaignSetting_WorkerRefusesToStart_NamingTheSettingNotItsValue(string argument, string problem)
    {
        var error = Assert.Throws<InvalidSettingsException>(() => PortalLinkWorkerHost.BuildWorker([.. ValidArguments, argument]));
        Assert.Equal([problem], error.Problems);
        Assert.DoesNotContain("soon-9d2", error.Message);
    }

    [Fact]
    public async Task BadCampaignSetting_HostStartItself_Refuses()
    {
        // The second line of defence: a host built without the check up front still validates every section on start.
        var builder = PortalLinkWorkerHost.CreateBuilder([.. ValidArguments, "--Campaigns:BatchSize=0"]);
        builder.Services.AddPortalLinkOptions();
        using var host = builder.Build();
        var error = await Assert.ThrowsAnyAsync<Exception>(() => host.StartAsync());
        Assert.Equal(["Campaigns:BatchSize must be between 1 and 100000 (environment variable Campaigns__BatchSize)."], SettingsValidation.Describe(error));
    }

    [Fact]
    public void BinderFailureInACommand_DescribedWithoutTheValue()
    {
        // A command binds a section without the check up front: the binder throws at the first value of the wrong type.
        var error = Assert.ThrowsAny<Exception>(() =>
            Services(("Campaigns:BatchSize", "lots-4411")).GetRequiredService<IOptions<PortalLinkWorker.Campaigns.CampaignOptions>>().Value);
        var problem = Assert.Single(SettingsValidation.Describe(error) ?? []);
        Assert.Contains("check-config", problem);
        Assert.DoesNotContain("lots-4411", problem);
    }

    [Theory]
    [InlineData("Database:SaveRetryInterval", "00:00:00")]
    [InlineData("Database:OutcomeSaveWait", "-00:00:01")]
    public void DatabaseDurations_OutOfRange_Refused(string key, string value)
    {
        var error = Assert.Throws<InvalidSettingsException>(() => PortalLinkWorkerHost.BuildWorker([.. ValidArguments, $"--{key}={value}"]));
        Assert.StartsWith($"{key} must be between", Assert.Single(error.Problems));
    }

    [Fact]
    public void AttemptTimeoutLongerThanTotalTimeout_Refused()
    {
        var error = Assert.Throws<InvalidSettingsException>(() =>
            PortalLinkWorkerHost.BuildWorker([.. ValidArguments, "--Upflow:AttemptTimeout=00:02:00", "--Upflow:TotalTimeout=00:01:00"]));
        Assert.Equal(["Upflow:AttemptTimeout must not be longer than Upflow:TotalTimeout (environment variables Upflow__AttemptTimeout, Upflow__TotalTimeout)."], error.Problems);
    }

    [Fact]
    public void EveryOptionsClass_IsInTheRegistry_Once()
    {
        // An options class left out of the registry is neither bound, nor checked at start, nor shown by check-config.
        var optionsTypes = typeof(PortalLinkWorkerHost).Assembly.GetTypes()
            .Where(t => t.Name.EndsWith("Options", StringComparison.Ordinal) && t.GetField("Section") is { IsLiteral: true })
            .OrderBy(t => t.FullName).ToList();
        Assert.NotEmpty(optionsTypes);
        Assert.Equal(optionsTypes, PortalLinkOptionSections.All.Select(s => s.Type).OrderBy(t => t.FullName));
        Assert.All(PortalLinkOptionSections.All, s => Assert.Equal(s.Type.GetField("Section")!.GetValue(null), s.Name));
    }
}
