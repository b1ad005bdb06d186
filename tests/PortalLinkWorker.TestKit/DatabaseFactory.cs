using Npgsql;

namespace PortalLinkWorker.TestKit;

/// <summary>Creates the throwaway databases tests and benchmarks run against (one per fixture, run or scenario) on a
/// PostgreSQL server where <c>CREATE DATABASE</c> is allowed, and drops them again.</summary>
public sealed class DatabaseFactory(string server)
{
    /// <summary>PostgreSQL's NAMEDATALEN - 1: a longer name is cut by the server, and two cut names may collide.</summary>
    private const int MaxNameLength = 63;

    private readonly List<string> _created = [];

    public string Server => server;

    /// <summary>Unpooled: a pooled admin connection may have been closed by the server since (a restart test, a restart
    /// between scenarios), and no idle connection of ours may keep a database from being dropped.</summary>
    public string AdminConnection => new NpgsqlConnectionStringBuilder(server) { Pooling = false }.ConnectionString;

    /// <summary>Creates an empty database named after <paramref name="prefix"/> and returns its connection string.</summary>
    public async Task<string> CreateAsync(string prefix)
    {
        var tag = new string([.. prefix.Select(c => char.IsAsciiLetterOrDigit(c) ? char.ToLowerInvariant(c) : '_')]);
        var name = $"{tag}_{Guid.NewGuid():N}";
        if (name.Length > MaxNameLength)
            name = name[..MaxNameLength];
        await using (var admin = new NpgsqlConnection(AdminConnection))
        {
            await admin.OpenAsync();
            await using var create = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", admin);
            await create.ExecuteNonQueryAsync();
        }
        lock (_created)
            _created.Add(name);
        return new NpgsqlConnectionStringBuilder(server) { Database = name }.ConnectionString;
    }

    /// <summary>Drops one database, whoever is still connected to it.</summary>
    public async Task DropAsync(string connectionString)
    {
        var name = new NpgsqlConnectionStringBuilder(connectionString).Database!;
        NpgsqlConnection.ClearAllPools();
        await using var admin = new NpgsqlConnection(AdminConnection);
        await admin.OpenAsync();
        await DropAsync(admin, name);
        lock (_created)
            _created.Remove(name);
    }

    /// <summary>Drops every database this factory created and has not dropped yet; the ones that could not be dropped,
    /// with why.</summary>
    public async Task<IReadOnlyList<string>> DropAllAsync()
    {
        string[] names;
        lock (_created)
        {
            names = [.. _created];
            _created.Clear();
        }
        var problems = new List<string>();
        if (names.Length == 0)
            return problems;
        NpgsqlConnection.ClearAllPools();
        await using var admin = new NpgsqlConnection(AdminConnection);
        await admin.OpenAsync();
        foreach (var name in names)
        {
            try
            {
                await DropAsync(admin, name);
            }
            catch (NpgsqlException e)
            {
                problems.Add($"Could not drop database {name}: {e.Message}");
            }
        }
        return problems;
    }

    private static async Task DropAsync(NpgsqlConnection admin, string name)
    {
        await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)", admin);
        await drop.ExecuteNonQueryAsync();
    }
}
