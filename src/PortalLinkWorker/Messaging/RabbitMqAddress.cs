using MassTransit;

namespace PortalLinkWorker.Messaging;

/// <summary>An AMQP URI taken apart, so that user, password and virtual host are unescaped exactly once.</summary>
public sealed record RabbitMqAddress(string Host, ushort Port, string VirtualHost, string Username, string Password, bool UseTls)
{
    private const int AmqpPort = 5672;
    private const int AmqpsPort = 5671;

    public static RabbitMqAddress? TryParse(string uri)
    {
        if (!Uri.TryCreate(uri, UriKind.Absolute, out var parsed) || parsed.Scheme is not ("amqp" or "amqps") ||
            string.IsNullOrEmpty(parsed.Host))
            return null;
        var tls = parsed.Scheme == "amqps";
        var port = parsed.IsDefaultPort || parsed.Port < 0 ? (tls ? AmqpsPort : AmqpPort) : parsed.Port;
        var userInfo = parsed.UserInfo.Split(':', 2);
        var vhost = Uri.UnescapeDataString(parsed.AbsolutePath.TrimStart('/'));
        return new RabbitMqAddress(parsed.Host, (ushort)port, vhost.Length == 0 ? "/" : vhost,
            userInfo[0].Length == 0 ? "guest" : Uri.UnescapeDataString(userInfo[0]),
            userInfo.Length > 1 ? Uri.UnescapeDataString(userInfo[1]) : "guest",
            tls);
    }

    public void ApplyTo(IRabbitMqBusFactoryConfigurator bus) =>
        bus.Host(Host, Port, VirtualHost, h =>
        {
            h.Username(Username);
            h.Password(Password);
            if (UseTls)
                h.UseSsl(s => s.ServerName = Host);
        });
}
