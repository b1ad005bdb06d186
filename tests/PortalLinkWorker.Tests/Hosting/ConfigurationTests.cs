using Microsoft.Extensions.Options;
using PortalLinkWorker.Hosting;
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
}
