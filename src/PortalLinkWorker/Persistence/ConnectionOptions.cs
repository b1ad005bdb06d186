using System.ComponentModel.DataAnnotations;

namespace PortalLinkWorker.Persistence;

/// <summary>The <c>ConnectionStrings</c> section: where PostgreSQL and RabbitMQ are. Whether each string parses is
/// checked by <see cref="ConnectionOptionsRules"/>.</summary>
public sealed class ConnectionOptions
{
    public const string Section = "ConnectionStrings";

    /// <summary>Npgsql connection string (<c>ConnectionStrings__Postgres</c>).</summary>
    [Required(ErrorMessage = "ConnectionStrings:Postgres is missing (environment variable ConnectionStrings__Postgres).")]
    public string Postgres { get; set; } = "";

    /// <summary>AMQP URI, e.g. <c>amqp://user:password@host:5672/vhost</c> (<c>ConnectionStrings__RabbitMq</c>).</summary>
    [Required(ErrorMessage = "ConnectionStrings:RabbitMq is missing (environment variable ConnectionStrings__RabbitMq).")]
    public string RabbitMq { get; set; } = "";
}
