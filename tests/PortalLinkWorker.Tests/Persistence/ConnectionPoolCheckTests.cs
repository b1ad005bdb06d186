using PortalLinkWorker.Links;
using PortalLinkWorker.Persistence;
using PortalLinkWorker.Operations;

namespace PortalLinkWorker.Tests.Persistence;

[Trait("Category", "Unit")]
public sealed class ConnectionPoolCheckTests
{
    private const string Postgres = "Host=127.0.0.1;Database=x;Username=u;Password=p";

    [Theory]
    [InlineData(16, 8, "", null)] // the shipped defaults: 24 of Npgsql's 100
    [InlineData(92, 8, "", null)] // exactly the pool
    [InlineData(93, 8, "", "101 messages at once, but the PostgreSQL connection string's Maximum Pool Size is 100")]
    [InlineData(16, 8, ";Maximum Pool Size=20", "24 messages at once, but the PostgreSQL connection string's Maximum Pool Size is 20")]
    [InlineData(128, 8, ";Pooling=false", null)] // no pool, no cap from it
    public void Warning_WhenMessagesAtOnceExceedThePool(int live, int bulk, string extra, string? expected)
    {
        var consumer = new ConsumerOptions { ConcurrentMessageLimit = live, BulkConcurrentMessageLimit = bulk };

        var warning = ConnectionPoolCheck.Warning(consumer, Postgres + extra);

        if (expected is null)
            Assert.Null(warning);
        else
        {
            Assert.NotNull(warning);
            Assert.Contains(expected, warning);
            Assert.DoesNotContain("Password", warning);
        }
    }
}
