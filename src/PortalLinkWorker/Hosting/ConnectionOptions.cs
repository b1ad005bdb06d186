using System.ComponentModel.DataAnnotations;
using PortalLinkWorker.Messaging;

namespace PortalLinkWorker.Hosting;

/// <summary>The <c>ConnectionStrings</c> section.</summary>
public sealed class ConnectionOptions : IValidatableObject
{
    public const string Section = "ConnectionStrings";

    /// <summary>Npgsql connection string (<c>ConnectionStrings__Postgres</c>).</summary>
    [Required(ErrorMessage = "ConnectionStrings:Postgres is missing (environment variable ConnectionStrings__Postgres).")]
    public string Postgres { get; set; } = "";

    /// <summary>AMQP URI, e.g. <c>amqp://user:password@host:5672/vhost</c> (<c>ConnectionStrings__RabbitMq</c>).</summary>
    [Required(ErrorMessage = "ConnectionStrings:RabbitMq is missing (environment variable ConnectionStrings__RabbitMq).")]
    public string RabbitMq { get; set; } = "";

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

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        // The values may hold passwords: the messages name the setting, never echo it.
        if (!string.IsNullOrEmpty(Postgres) && !IsNpgsqlConnectionString(Postgres))
            yield return new ValidationResult(
                "ConnectionStrings:Postgres is not a valid Npgsql connection string (check its keywords and values).", [nameof(Postgres)]);
        if (!string.IsNullOrEmpty(RabbitMq) && RabbitMqAddress.TryParse(RabbitMq) is null)
            yield return new ValidationResult(
                "ConnectionStrings:RabbitMq is not an AMQP URI of the form amqp://user:password@host:port/vhost.", [nameof(RabbitMq)]);
    }
}
