using System.Globalization;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Npgsql;
using PortalLinkWorker.Hosting;
using PortalLinkWorker.Links;
using PortalLinkWorker.Persistence;
using PortalLinkWorker.Upflow;

namespace PortalLinkWorker.Operations;

/// <summary>
/// What <c>check-config</c> does: prints the effective settings (defaults included, secrets masked), validates them as
/// the worker does at start (one line per bad setting, naming it, never its value), then tests RabbitMQ, PostgreSQL and
/// Upflow (a probe for a customer nobody has: 404 means reachable and the key pair accepted).
/// </summary>
public sealed class ConfigurationCheck(IServiceProvider services, IConfiguration configuration, TextWriter output)
{
    public const int Ok = 0;
    public const int ServiceFailed = 1;
    public const int InvalidSettings = 2;

    /// <summary>Each connectivity test gives up after this.</summary>
    public static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(10);

    public async Task<int> RunAsync(bool connect, CancellationToken cancellationToken)
    {
        output.WriteLine("Effective settings (secrets masked):");
        output.WriteLine($"  Urls = {configuration["urls"] ?? (configuration["http_ports"] is { } ports ? $"(http ports {ports})" : PortalLinkWorkerHost.DefaultUrls)}");
        output.WriteLine($"  OTEL_EXPORTER_OTLP_ENDPOINT = {SecretMask.Uri(configuration["OTEL_EXPORTER_OTLP_ENDPOINT"])}");
        var problems = new List<string>();
        foreach (var section in PortalLinkOptionSections.All)
            problems.AddRange(PrintAndValidate(section));

        output.WriteLine();
        if (problems.Count > 0)
        {
            output.WriteLine($"Invalid settings ({problems.Count}):");
            foreach (var problem in problems)
                output.WriteLine($"  ✗ {problem}");
            return InvalidSettings;
        }
        output.WriteLine("Settings: valid.");
        if (ConnectionPoolCheck.Warning(services.GetRequiredService<IOptions<ConsumerOptions>>().Value,
                services.GetRequiredService<IOptions<ConnectionOptions>>().Value.Postgres) is { } poolWarning)
            output.WriteLine($"  ! {poolWarning}");
        if (!connect)
            return Ok;

        output.WriteLine();
        output.WriteLine("Connectivity:");
        var ok = await TestAsync("RabbitMQ", RabbitMqAsync, cancellationToken);
        ok &= await TestAsync("PostgreSQL", PostgresAsync, cancellationToken);
        ok &= await TestAsync("Upflow", UpflowAsync, cancellationToken);
        return ok ? Ok : ServiceFailed;
    }

    /// <summary>Prints one section (as far as it binds) and returns its problems.</summary>
    private IReadOnlyList<string> PrintAndValidate(OptionSection section)
    {
        var (value, problems) = section.Read(services, configuration);
        value ??= section.Unvalidated(configuration);
        foreach (var setting in section.Settings)
            output.WriteLine($"  {section.Name}:{setting.Name} = {Show(setting.Name, setting.GetValue(value))}");
        return problems;
    }

    internal static string Show(string name, object? value) => (name, value) switch
    {
        (_, null) => SecretMask.NotSet,
        (nameof(ConnectionOptions.Postgres), string s) => SecretMask.PostgresConnectionString(s),
        (nameof(ConnectionOptions.RabbitMq), string s) => SecretMask.Uri(s),
        (nameof(UpflowOptions.ApiKey), string s) => SecretMask.ApiKey(s),
        (_, string s) when SecretMask.IsSecretName(name) => SecretMask.Secret(s),
        (_, Uri u) => SecretMask.Uri(u.OriginalString),
        (_, TimeSpan t) => t.ToString("c", CultureInfo.InvariantCulture),
        (_, IFormattable f) => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };

    private async Task<bool> TestAsync(string name, Func<CancellationToken, Task<string>> test, CancellationToken cancellationToken)
    {
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(ConnectTimeout);
        try
        {
            output.WriteLine($"  ✓ {name}: {await test(limit.Token)}");
            return true;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            output.WriteLine($"  ✗ {name}: no answer within {ConnectTimeout.TotalSeconds:0} s");
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Driver messages name hosts and ports, not passwords.
            output.WriteLine($"  ✗ {name}: {e.GetBaseException().Message}");
        }
        return false;
    }

    private async Task<string> RabbitMqAsync(CancellationToken cancellationToken)
    {
        var factory = QueueDepths.Factory(services.GetRequiredService<IOptions<ConnectionOptions>>().Value.RabbitMq);
        await using var connection = await factory.CreateConnectionAsync("portal-link-worker-check-config", cancellationToken);
        var version = connection.ServerProperties?.TryGetValue("version", out var v) == true && v is byte[] bytes
            ? System.Text.Encoding.UTF8.GetString(bytes) : "?";
        return $"connected to {factory.HostName}:{factory.Port}, virtual host '{factory.VirtualHost}' (RabbitMQ {version})";
    }

    private async Task<string> PostgresAsync(CancellationToken cancellationToken)
    {
        await using var scope = services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<PortalLinkDbContext>();
        var connection = (NpgsqlConnection)db.Database.GetDbConnection();
        await connection.OpenAsync(cancellationToken);
        var pending = (await db.Database.GetPendingMigrationsAsync(cancellationToken)).Count();
        var schema = pending == 0 ? "schema up to date" : $"{pending} migration(s) pending (run `migrate`, or keep Database:MigrateOnStart=true)";
        return $"connected to {connection.Host}:{connection.Port}, database '{connection.Database}' (PostgreSQL {connection.PostgreSqlVersion}); {schema}";
    }

    private async Task<string> UpflowAsync(CancellationToken cancellationToken)
    {
        var baseUrl = services.GetRequiredService<IOptions<UpflowOptions>>().Value.BaseUrl;
        return await services.GetRequiredService<UpflowProbe>().ProbeAsync(cancellationToken) switch
        {
            UpflowProbe.Answer.Up => $"{baseUrl} answers and accepts the API key pair",
            UpflowProbe.Answer.CredentialsRejected => throw new InvalidOperationException(
                $"{baseUrl} refused the API key pair (401/403): check Upflow:ApiKey and Upflow:ApiSecret"),
            UpflowProbe.Answer.Redirected => throw new InvalidOperationException(
                $"{baseUrl} answered with a redirect (3xx), which the worker never follows: check Upflow:BaseUrl"),
            _ => throw new InvalidOperationException($"{baseUrl} does not answer (timeout, connection error or 5xx)"),
        };
    }
}
