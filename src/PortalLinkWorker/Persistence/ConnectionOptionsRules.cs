using Microsoft.Extensions.Options;
using PortalLinkWorker.Messaging;

namespace PortalLinkWorker.Persistence;

/// <summary>The rules of <see cref="ConnectionOptions"/> the attributes cannot say: each string parses as what it names.
/// The values may hold passwords: the messages name the setting, never echo it.</summary>
internal sealed class ConnectionOptionsRules : IValidateOptions<ConnectionOptions>
{
    public ValidateOptionsResult Validate(string? name, ConnectionOptions options)
    {
        var problems = new List<string>();
        if (!string.IsNullOrEmpty(options.Postgres) && !IsNpgsqlConnectionString(options.Postgres))
            problems.Add("ConnectionStrings:Postgres is not a valid Npgsql connection string (check its keywords and values; environment variable ConnectionStrings__Postgres).");
        if (!string.IsNullOrEmpty(options.RabbitMq) && RabbitMqAddress.TryParse(options.RabbitMq) is null)
            problems.Add("ConnectionStrings:RabbitMq is not an AMQP URI of the form amqp://user:password@host:port/vhost (environment variable ConnectionStrings__RabbitMq).");
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }

    private static bool IsNpgsqlConnectionString(string value)
    {
        try
        {
            _ = new Npgsql.NpgsqlConnectionStringBuilder(value);
            return true;
        }
        catch (Exception e) when (e is ArgumentException or FormatException or InvalidCastException or OverflowException)
        {
            return false;
        }
    }
}
