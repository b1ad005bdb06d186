using System.Globalization;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Npgsql;
using PortalLinkWorker.Hosting;
using PortalLinkWorker.Links;
using PortalLinkWorker.Operations;
using PortalLinkWorker.Persistence;
using PortalLinkWorker.Upflow;

namespace PortalLinkWorker.Cli;

/// <summary>
/// What <c>check-config</c> does: prints the effective settings (defaults included, secrets masked), validates them as
/// the worker does at start (one line per bad setting, naming it, never its value), then tests RabbitMQ, PostgreSQL and
/// Upflow (a GET of the base URL: reachable, and a 401/403 there proves the key pair wrong; no link is asked for).
/// With <c>--upflow-call &lt;customerId&gt;</c> it then makes one real call (<see cref="UpflowContractCheck.CallAsync"/>)
/// and prints what came back.
/// </summary>
public sealed class ConfigurationCheck(IServiceProvider services, IConfiguration configuration, TextWriter output)
{
    public const int Ok = 0;
    public const int ServiceFailed = 1;
    public const int InvalidSettings = 2;

    /// <summary>Each connectivity test gives up after this.</summary>
    public static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(10);

    /// <summary>Runs the check; with <paramref name="call"/>, one real Upflow call after the connectivity tests.</summary>
    public async Task<int> RunAsync(bool connect, CancellationToken cancellationToken, UpflowCall? call = null)
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
        if (call is not null)
            ok &= await CallUpflowAsync(call.BaseUrl, call.CustomerId, call.ExpiresIn, cancellationToken);
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
        var (reach, status) = await services.GetRequiredService<UpflowContractCheck>().ReachAsync(cancellationToken);
        return reach switch
        {
            UpflowContractCheck.Reach.Answers => $"{baseUrl} answers (HTTP {status} to a GET); the API key pair is proven only by a real call: check-config --upflow-call <customerId>",
            UpflowContractCheck.Reach.CredentialsRejected => throw new InvalidOperationException(
                $"{baseUrl} refused the API key pair (401/403): check Upflow:ApiKey and Upflow:ApiSecret"),
            UpflowContractCheck.Reach.Redirected => throw new InvalidOperationException(
                $"{baseUrl} answered with a redirect (3xx), which the worker never follows: check Upflow:BaseUrl"),
            _ => throw new InvalidOperationException($"{baseUrl} does not answer (timeout, connection error or 5xx)"),
        };
    }

    /// <summary><c>--upflow-call</c>: one real call for <paramref name="customerId"/>, and what came back. Returns
    /// whether a portal URL was read.</summary>
    public async Task<bool> CallUpflowAsync(Uri baseUrl, string customerId, int expiresIn, CancellationToken cancellationToken)
    {
        output.WriteLine();
        output.WriteLine($"One real call (Upflow issues a link valid {expiresIn} s; it is shown masked and stored nowhere):");
        var report = await services.GetRequiredService<UpflowContractCheck>().CallAsync(baseUrl, customerId, expiresIn, cancellationToken);
        output.WriteLine($"  POST {report.Target}");
        output.WriteLine($"  status: {(report.Status is { } s ? s.ToString(CultureInfo.InvariantCulture) : "no answer")}; content type: {report.MediaType ?? "none"}");
        output.WriteLine($"  received: {report.Received}");
        if (report.Problem is not null)
        {
            output.WriteLine($"  ✗ {report.Problem}");
            return false;
        }
        output.WriteLine($"  ✓ portal URL (Upflow:UrlField '{services.GetRequiredService<IOptions<UpflowOptions>>().Value.UrlField}'): {report.MaskedUrl}");
        output.WriteLine($"  ✓ valid until {report.Expiry!.Value.At:O} ({report.Expiry.Value.Source})");
        return true;
    }
}

/// <summary>What <c>check-config --upflow-call</c> asks: one real call for <paramref name="CustomerId"/> at
/// <paramref name="BaseUrl"/>, for a link of <paramref name="ExpiresIn"/> seconds.</summary>
public sealed record UpflowCall(Uri BaseUrl, string CustomerId, int ExpiresIn);
