using Npgsql;
using PortalLinkWorker.TestKit;

namespace PortalLinkWorker.Tests.Integration;

/// <summary>The fixture's database, read and written by the tests directly: what the worker stored, and the states a
/// test sets up behind its back.</summary>
public sealed class TestDatabase(string connectionString)
{
    public string ConnectionString => connectionString;

    /// <summary>The tests' own connections are not pooled: a pooled one would not survive the PostgreSQL restart test.</summary>
    private string TestConnection => connectionString + ";Pooling=false";

    /// <summary>The row of a request, or null while there is none.</summary>
    public async Task<PortalLinkRow?> RowAsync(Guid requestId)
    {
        await using var connection = await OpenAsync();
        await using var select = new NpgsqlCommand(
            "SELECT status, url, campaign_id, failure_reason FROM portal_links WHERE request_id = @id", connection);
        select.Parameters.AddWithValue("id", requestId);
        await using var reader = await select.ExecuteReaderAsync();
        if (!await reader.ReadAsync())
            return null;
        var stored = reader.IsDBNull(1) ? null : reader.GetString(1);
        return new PortalLinkRow(
            reader.GetString(0),
            stored is null ? null : Readable(stored, requestId),
            reader.IsDBNull(2) ? null : reader.GetGuid(2),
            reader.IsDBNull(3) ? null : reader.GetString(3),
            stored);
    }

    /// <summary>The stored URL decrypted with the tests' key (<see cref="WorkerSettings.UrlKeys"/>), or null when that key
    /// does not decrypt it (a test of rotation reads <see cref="PortalLinkRow.StoredUrl"/>).</summary>
    private static string? Readable(string stored, Guid requestId)
    {
        try
        {
            return Protector.Read(stored, requestId);
        }
        catch (PortalLinkWorker.Persistence.UrlProtectionException)
        {
            return null;
        }
    }

    private static readonly PortalLinkWorker.Persistence.UrlProtector Protector =
        PortalLinkWorker.Persistence.UrlKeyRing.TryParse(WorkerSettings.UrlKeys, out var ring, out _)
            ? new PortalLinkWorker.Persistence.UrlProtector(ring)
            : throw new InvalidOperationException("The tests' URL key does not parse.");

    /// <summary>The first column of the first row of a query, or null.</summary>
    public async Task<object?> ScalarAsync(string sql, params (string Name, object Value)[] parameters)
    {
        await using var connection = await OpenAsync();
        await using var command = Command(sql, connection, parameters);
        var result = await command.ExecuteScalarAsync();
        return result is DBNull ? null : result;
    }

    public async Task ExecuteAsync(string sql, params (string Name, object Value)[] parameters)
    {
        await using var connection = await OpenAsync();
        await using var command = Command(sql, connection, parameters);
        await command.ExecuteNonQueryAsync();
    }

    private async Task<NpgsqlConnection> OpenAsync()
    {
        var connection = new NpgsqlConnection(TestConnection);
        await connection.OpenAsync();
        return connection;
    }

    private static NpgsqlCommand Command(string sql, NpgsqlConnection connection, (string Name, object Value)[] parameters)
    {
        var command = new NpgsqlCommand(sql, connection);
        foreach (var (name, value) in parameters)
            command.Parameters.AddWithValue(name, value);
        return command;
    }
}
