using PortalLinkWorker.Cli;
using PortalLinkWorker.Operations;

namespace PortalLinkWorker.Tests.Operations;

[Trait("Category", "Unit")]
public sealed class SecretMaskTests
{
    [Fact]
    public void PostgresConnectionString_PasswordMasked_RestKept()
    {
        var shown = SecretMask.PostgresConnectionString("Host=db;Port=5432;Database=links;Username=app;Password=hunter2");
        Assert.DoesNotContain("hunter2", shown);
        Assert.Contains("Password=****", shown);
        Assert.Contains("Host=db", shown);
        Assert.Contains("Username=app", shown);
    }

    [Fact]
    public void PostgresConnectionString_Unreadable_HiddenWhole() =>
        Assert.DoesNotContain("hunter2", SecretMask.PostgresConnectionString("Host=db;Pasword=hunter2;Bogus"));

    [Theory]
    [InlineData("amqps://user:hunter2@rabbit.example/prod", "amqps://user:****@rabbit.example/prod")]
    [InlineData("amqp://guest:p%40ss@127.0.0.1:5672/", "amqp://guest:****@127.0.0.1:5672/")]
    [InlineData("amqp://rabbit.example/", "amqp://rabbit.example/")]
    public void Uri_PasswordMasked(string uri, string expected) => Assert.Equal(expected, SecretMask.Uri(uri));

    [Fact]
    public void Uri_Unreadable_HiddenWhole() => Assert.DoesNotContain("hunter2", SecretMask.Uri("not a uri hunter2"));

    [Theory]
    [InlineData("", SecretMask.NotSet)]
    [InlineData("short-key", SecretMask.Masked)]
    [InlineData("ak_live_0123456789abcdef", "ak_l… (24 characters)")]
    public void ApiKey_OnlyItsStartOfALongKey(string key, string expected) => Assert.Equal(expected, SecretMask.ApiKey(key));

    [Fact]
    public void Secret_NeverShown()
    {
        Assert.Equal(SecretMask.Masked, SecretMask.Secret("s3cr3t"));
        Assert.Equal(SecretMask.NotSet, SecretMask.Secret(""));
    }

    [Theory]
    [InlineData("ApiSecret")]
    [InlineData("Password")]
    [InlineData("AdminPassword")]
    public void ConfigurationCheck_Show_MasksSecretLookingNames(string name) =>
        Assert.Equal(SecretMask.Masked, ConfigurationCheck.Show(name, "hunter2"));

    [Theory]
    [InlineData("Host=db;Username=app;Password=hunter2;SSL Password=hunter3")]
    [InlineData("Host=db;Username=app;SSL Password=hunter3;SSL Key=/etc/hunter3.key")]
    [InlineData("Host=db;Username=app;sslpassword=hunter3")]
    public void PostgresConnectionString_EveryPasswordOrKeyMasked(string connectionString)
    {
        var shown = SecretMask.PostgresConnectionString(connectionString);

        Assert.DoesNotContain("hunter", shown);
        Assert.Contains("Host=db", shown, StringComparison.OrdinalIgnoreCase);
    }

    [Theory]
    [InlineData("StatusToken")]
    [InlineData("SslKey")]
    [InlineData("ClientSecret")]
    public void ConfigurationCheck_Show_MasksEveryKeyNamedLikeASecret(string name) =>
        Assert.Equal(SecretMask.Masked, ConfigurationCheck.Show(name, "hunter2"));

    [Fact]
    public void ConfigurationCheck_Show_PostgresWithSslPassword_NoPasswordShown() =>
        Assert.DoesNotContain("hunter", ConfigurationCheck.Show("Postgres", "Host=db;Username=app;Password=hunter2;SSL Password=hunter3"));
}
