using Microsoft.Extensions.Options;
using Npgsql;
using PortalLinkWorker.Upflow;

namespace PortalLinkWorker.Persistence;

/// <summary>
/// The account's call slots as PostgreSQL session-level advisory locks (two-key form: the account, the slot number), all
/// held on one connection of this process kept for the purpose. A lock lives as long as its session: a process that
/// is killed, or loses its connection, gives its slots back at once, with no lease to expire. The two-key lock space
/// never meets the one-key customer locks of <see cref="PortalLinkStore"/>. Advisory locks stack within a session, and a
/// slot locked twice stays locked after one release, for as long as the process lives: so the store keeps the slots its
/// session holds itself, under the same turnstile as the commands, and never locks one of them again, whatever the
/// caller's list says (a caller's list taken before a concurrent take was recorded once did exactly that, and a
/// replica's campaign calls waited for a slot nobody was using).
/// </summary>
public sealed class PostgresSlotLocks(IOptions<ConnectionOptions> connection, IOptions<UpflowOptions> upflow) : IUpflowSlotLocks, IAsyncDisposable
{
    private readonly int _account = Convert.ToInt32(PostgresRateBudgetStore.AccountKey(upflow.Value)[..8], 16);
    private readonly SemaphoreSlim _turn = new(1, 1);
    private readonly HashSet<int> _mine = [];
    private NpgsqlConnection? _session;

    public event Action? SlotsLost;

    public async Task<int?> TryTakeAsync(int from, int to, IReadOnlyCollection<int> skip, CancellationToken cancellationToken)
    {
        // CASE, not AND: SQL does not promise the order of AND, and a slot this session holds already would be locked a
        // second time (advisory locks stack within a session).
        return await RunAsync(async session =>
        {
            await using var command = new NpgsqlCommand("""
                SELECT s FROM generate_series($2, $3 - 1) AS s
                WHERE CASE WHEN s = ANY($4) THEN false ELSE pg_try_advisory_lock($1, s) END
                LIMIT 1
                """, session);
            command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = _account });
            command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = from });
            command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = to });
            command.Parameters.Add(new NpgsqlParameter<int[]> { TypedValue = [.. skip, .. _mine] });
            if (await command.ExecuteScalarAsync(cancellationToken) is not int slot)
                return (int?)null;
            _mine.Add(slot);
            return slot;
        }, cancellationToken);
    }

    public Task ReleaseAsync(int slot, CancellationToken cancellationToken) =>
        RunAsync(async session =>
        {
            await using var command = new NpgsqlCommand("SELECT pg_advisory_unlock($1, $2)", session);
            command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = _account });
            command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = slot });
            await command.ExecuteScalarAsync(cancellationToken);
            _mine.Remove(slot);
            return true;
        }, cancellationToken);

    /// <summary>One command at a time on the session. A session that fails is dropped, and every slot with it
    /// (PostgreSQL releases them when the session ends; <see cref="SlotsLost"/> says so). A session kept from before that
    /// fails on its first command (PostgreSQL restarted, a proxy cut it) is replaced once at once: the database may well
    /// be back, and the command is tried again on a fresh session. A second failure is the caller's.</summary>
    private async Task<T> RunAsync<T>(Func<NpgsqlConnection, Task<T>> work, CancellationToken cancellationToken)
    {
        await _turn.WaitAsync(cancellationToken);
        try
        {
            var reused = _session is not null;
            while (true)
            {
                try
                {
                    _session ??= await OpenAsync(cancellationToken);
                    return await work(_session);
                }
                catch (Exception e) when (e is NpgsqlException or OperationCanceledException or InvalidOperationException)
                {
                    await DropAsync();
                    if (reused && e is NpgsqlException && !cancellationToken.IsCancellationRequested)
                    {
                        reused = false;
                        continue;
                    }
                    throw new UpflowSlotsLostException(e);
                }
            }
        }
        finally
        {
            _turn.Release();
        }
    }

    private async Task<NpgsqlConnection> OpenAsync(CancellationToken cancellationToken)
    {
        // Not from the pool: a pooled connection would be reset, and its locks dropped, whenever it is returned.
        var session = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(connection.Value.Postgres)
        {
            Pooling = false,
            ApplicationName = "portal-link-worker upflow slots",
        }.ConnectionString);
        try
        {
            await session.OpenAsync(cancellationToken);
            return session;
        }
        catch
        {
            await session.DisposeAsync();
            throw;
        }
    }

    private async Task DropAsync()
    {
        if (_session is null)
            return;
        await _session.DisposeAsync();
        _session = null;
        _mine.Clear();
        SlotsLost?.Invoke();
    }

    /// <summary>Ends the session, and the slots with it. The turnstile is not disposed: a call still finishing at
    /// shutdown must be able to release it.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_session is not null)
            await _session.DisposeAsync();
        _session = null;
    }
}
