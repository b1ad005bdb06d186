using Microsoft.Extensions.Options;
using PortalLinkWorker.Hosting;
using PortalLinkWorker.Persistence;
using PortalLinkWorker.Tests.Integration;
using PortalLinkWorker.Upflow;

namespace PortalLinkWorker.Tests.Persistence;

/// <summary>The account's call slots on a real PostgreSQL: two sessions stand for two replicas.</summary>
[Trait("Category", "Integration")]
public sealed class PostgresSlotLocksTests
{
    private static async Task<PostgresSlotLocks> SessionAsync(string database, string apiKey = "key-1") =>
        new(Options.Create(new ConnectionOptions { Postgres = database, RabbitMq = "amqp://localhost" }),
            Options.Create(new UpflowOptions { ApiKey = apiKey, ApiSecret = "secret" }));

    [Fact]
    public async Task TwoSessions_ShareTheSlots_AndADroppedSessionGivesItsSlotsBack()
    {
        var database = await TestServices.CreateDatabaseAsync("portallink_slots");
        var a = await SessionAsync(database);
        await using var b = await SessionAsync(database);

        Assert.Equal(0, await a.TryTakeAsync(0, 3, [], CancellationToken.None));
        Assert.Equal(1, await a.TryTakeAsync(0, 3, [0], CancellationToken.None));
        Assert.Equal(2, await b.TryTakeAsync(0, 3, [], CancellationToken.None));
        Assert.Null(await b.TryTakeAsync(0, 3, [2], CancellationToken.None));
        // A slot this session already holds is not taken twice (advisory locks would stack within a session).
        Assert.Null(await a.TryTakeAsync(0, 2, [0, 1], CancellationToken.None));

        await a.ReleaseAsync(1, CancellationToken.None);
        Assert.Equal(1, await b.TryTakeAsync(0, 3, [2], CancellationToken.None));

        // A replica that dies (its session ends) gives its slots back without anyone releasing them, as soon as
        // PostgreSQL has ended the session's backend.
        await a.DisposeAsync();
        int? freed = null;
        await Eventually.TrueAsync(async () => (freed = await b.TryTakeAsync(0, 3, [1, 2], CancellationToken.None)) is not null);
        Assert.Equal(0, freed);
    }

    [Fact]
    public async Task ASlotThisSessionHolds_IsNeverLockedTwice_EvenWhenTheCallerDoesNotSaySo()
    {
        var database = await TestServices.CreateDatabaseAsync("portallink_slots");
        await using var a = await SessionAsync(database);
        await using var b = await SessionAsync(database);

        // Two callers of one process whose lists were taken before either take was recorded.
        Assert.Equal(0, await a.TryTakeAsync(0, 2, [], CancellationToken.None));
        Assert.Equal(1, await a.TryTakeAsync(0, 2, [], CancellationToken.None));
        Assert.Null(await a.TryTakeAsync(0, 2, [], CancellationToken.None));

        // One release each frees them for the other replica: nothing stacked.
        await a.ReleaseAsync(0, CancellationToken.None);
        await a.ReleaseAsync(1, CancellationToken.None);
        Assert.Equal(0, await b.TryTakeAsync(0, 2, [], CancellationToken.None));
        Assert.Equal(1, await b.TryTakeAsync(0, 2, [], CancellationToken.None));
    }

    [Fact]
    public async Task AnotherAccount_HasSlotsOfItsOwn()
    {
        var database = await TestServices.CreateDatabaseAsync("portallink_slots");
        await using var a = await SessionAsync(database, "key-1");
        await using var other = await SessionAsync(database, "key-2");
        Assert.Equal(0, await a.TryTakeAsync(0, 1, [], CancellationToken.None));
        Assert.Equal(0, await other.TryTakeAsync(0, 1, [], CancellationToken.None));
    }

    [Fact]
    public async Task ASessionCutFromOutside_IsReplacedAtOnce_AndItsSlotsAreReportedLost()
    {
        var database = await TestServices.CreateDatabaseAsync("portallink_slots");
        await using var a = await SessionAsync(database);
        var lost = 0;
        a.SlotsLost += () => lost++;
        Assert.Equal(0, await a.TryTakeAsync(0, 2, [], CancellationToken.None));

        // What a PostgreSQL restart or a cut proxy does to the kept session.
        await using (var admin = new Npgsql.NpgsqlConnection(database))
        {
            await admin.OpenAsync();
            await using var kill = new Npgsql.NpgsqlCommand(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()", admin);
            await kill.ExecuteNonQueryAsync();
        }

        // The next take works on a fresh session; the old slot went with the old one.
        Assert.Equal(0, await a.TryTakeAsync(0, 2, [], CancellationToken.None));
        Assert.Equal(1, lost);
    }
}
