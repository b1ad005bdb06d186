using System.Text.RegularExpressions;
using Npgsql;
using PortalLinkContracts;
using PortalLinkWorker.Persistence;
using PortalLinkWorker.TestKit;

namespace PortalLinkWorker.Tests.Integration.Links;

/// <summary>
/// Links as credentials, on the real worker, broker, database and simulator: a stored link valid long enough is answered
/// again without an Upflow call; URLs are stored encrypted and stay readable across a key rotation; URLs are erased after
/// retention and the register says so.
/// </summary>
[Collection(WorkerCollection.Name)]
[Trait("Category", "Integration")]
public sealed class LinkCredentialsTests(WorkerFixture fixture)
{
    private const int ThirtyDays = 30 * 86_400;
    private const int SevenDays = 7 * 86_400;

    private static string External(string prefix) => $"external:{prefix}-{Guid.NewGuid():N}";

    private async Task<PortalLinkGenerated> GenerateAsync(GeneratePortalLink request)
    {
        await fixture.Observer.Bus.Publish(request);
        return await fixture.Observer.OutcomeAsync<PortalLinkGenerated>(request.RequestId);
    }

    [Fact]
    public async Task ReuseIfValidFor_StoredLinkValidLongEnough_NoUpflowCall_SameUrl()
    {
        var customerId = External("reuse");
        var first = await GenerateAsync(new GeneratePortalLink(Guid.NewGuid(), customerId, ThirtyDays, "erp.example.com"));

        var again = new GeneratePortalLink(Guid.NewGuid(), customerId, ThirtyDays, "erp.example.com", ReuseIfValidFor: SevenDays);
        var reused = await GenerateAsync(again);

        Assert.Equal(again.RequestId, reused.RequestId);
        Assert.Equal(first.Url, reused.Url);
        Assert.Equal(first.ExpiresAt, reused.ExpiresAt);
        Assert.Equal(first.GeneratedAt, reused.GeneratedAt);
        Assert.Single(await fixture.Simulator.CallsAsync(customerId));
        Assert.Equal(first.RequestId, await fixture.Database.ScalarAsync(
            "SELECT reused_from FROM portal_links WHERE request_id = @id", ("id", again.RequestId)));
        Assert.Equal(first.Url, (await fixture.Database.RowAsync(again.RequestId))!.Url);
    }

    [Fact]
    public async Task ReuseIfValidFor_OtherFrameAncestorsOrTooLittleLeft_NewLink()
    {
        var customerId = External("no-reuse");
        var first = await GenerateAsync(new GeneratePortalLink(Guid.NewGuid(), customerId, SevenDays, "erp.example.com"));

        // Another embedding host: another link (FrameAncestors is part of what Upflow issued).
        var otherHost = await GenerateAsync(new GeneratePortalLink(Guid.NewGuid(), customerId, SevenDays, "shop.example.com",
            ReuseIfValidFor: 86_400));
        // The stored link has about 7 days left; asking for 8 makes a new one.
        var tooShort = await GenerateAsync(new GeneratePortalLink(Guid.NewGuid(), customerId, ThirtyDays, "erp.example.com",
            ReuseIfValidFor: 8 * 86_400));
        // Without ReuseIfValidFor: always a new link.
        var plain = await GenerateAsync(new GeneratePortalLink(Guid.NewGuid(), customerId, SevenDays, "erp.example.com"));

        Assert.Equal(4, new[] { first.Url, otherHost.Url, tooShort.Url, plain.Url }.Distinct().Count());
        Assert.Equal(4, (await fixture.Simulator.CallsAsync(customerId)).Count);

        // The 30-day link just made is now the one a later request reuses.
        var later = await GenerateAsync(new GeneratePortalLink(Guid.NewGuid(), customerId, ThirtyDays, "erp.example.com",
            ReuseIfValidFor: 20 * 86_400));
        Assert.Equal(tooShort.Url, later.Url);
        Assert.Equal(4, (await fixture.Simulator.CallsAsync(customerId)).Count);
    }

    [Fact]
    public async Task StoredRows_HoldNoUrlInClear_InAnyTextColumn()
    {
        var generated = await GenerateAsync(new GeneratePortalLink(Guid.NewGuid(), External("clear"), SevenDays));
        var token = new Uri(generated.Url).AbsolutePath.TrimStart('/');
        Assert.True(token.Length >= 8, generated.Url);

        var stored = (await fixture.Database.RowAsync(generated.RequestId))!.StoredUrl!;
        Assert.StartsWith($"{UrlProtector.Version}:", stored);
        Assert.DoesNotContain(token, stored);

        await using var connection = new NpgsqlConnection(fixture.Database.ConnectionString + ";Pooling=false");
        await connection.OpenAsync();
        var columns = new List<(string Table, string Column)>();
        await using (var list = new NpgsqlCommand("""
            SELECT table_name, column_name FROM information_schema.columns
            WHERE table_schema = 'public' AND data_type IN ('text', 'character varying', 'character', 'json', 'jsonb', 'ARRAY')
            """, connection))
        await using (var reader = await list.ExecuteReaderAsync())
            while (await reader.ReadAsync())
                columns.Add((reader.GetString(0), reader.GetString(1)));
        Assert.Contains(("portal_links", "url"), columns);
        foreach (var (table, column) in columns)
        {
            await using var search = new NpgsqlCommand(
                $"SELECT count(*) FROM \"{table}\" WHERE \"{column}\"::text LIKE '%' || @token || '%'", connection);
            search.Parameters.AddWithValue("token", token);
            Assert.True((long)(await search.ExecuteScalarAsync())! == 0, $"{table}.{column} holds the URL's token");
        }
    }

    [Fact]
    public async Task KeyRotation_OldRowsStayReadable_ReencryptMovesThemToTheNewKey()
    {
        var customerId = External("rotate");
        var request = new GeneratePortalLink(Guid.NewGuid(), customerId, SevenDays);
        var generated = await GenerateAsync(request);
        var oldKeys = WorkerSettings.UrlKeys;
        var newKey = WorkerSettings.NewUrlKey();
        var newId = UrlKeyRing.IdOf(Convert.FromBase64String(newKey));
        var rotated = fixture.Worker.Settings.With(new Dictionary<string, string> { ["Database:UrlKeys"] = $"{newKey},{oldKeys}" });
        try
        {
            // The new key first: the row under the old one is still read (a redelivery re-publishes the same URL).
            await RestartWorkerAsync(rotated);
            await fixture.Observer.Bus.Publish(request);
            var outcomes = await fixture.Observer.WaitForOutcomesAsync(request.RequestId, 2);
            Assert.Equal(generated.Url, Assert.IsType<PortalLinkGenerated>(outcomes[1]).Url);
            Assert.DoesNotContain($":{newId}:", (await fixture.Database.RowAsync(request.RequestId))!.StoredUrl);

            var (exitCode, output) = await WorkerProcess.RunCommandAsync(rotated, "reencrypt-urls");
            Assert.True(exitCode == 0, output);
            Assert.Matches(@"re-encrypted [1-9]\d* URL\(s\)", output);
            Assert.StartsWith($"{UrlProtector.Version}:{newId}:", (await fixture.Database.RowAsync(request.RequestId))!.StoredUrl);

            // Only the new key now: still the same URL.
            await RestartWorkerAsync(fixture.Worker.Settings.With(new Dictionary<string, string> { ["Database:UrlKeys"] = newKey }));
            await fixture.Observer.Bus.Publish(request);
            outcomes = await fixture.Observer.WaitForOutcomesAsync(request.RequestId, 3);
            Assert.Equal(generated.Url, Assert.IsType<PortalLinkGenerated>(outcomes[2]).Url);
        }
        finally
        {
            // Back under the fixture's key, for the tests after this one.
            var back = fixture.Worker.Settings.With(new Dictionary<string, string> { ["Database:UrlKeys"] = $"{oldKeys},{newKey}" });
            var (exitCode, output) = await WorkerProcess.RunCommandAsync(back, "reencrypt-urls");
            Assert.True(exitCode == 0, output);
            await RestartWorkerAsync(null);
        }
    }

    [Fact]
    public async Task Erasure_AfterRetention_UrlGone_RowKept_RegisterSaysSo()
    {
        var customerId = External("erase");
        var old = await GenerateAsync(new GeneratePortalLink(Guid.NewGuid(), customerId, SevenDays));
        var current = await GenerateAsync(new GeneratePortalLink(Guid.NewGuid(), customerId, ThirtyDays));
        var reused = await GenerateAsync(new GeneratePortalLink(Guid.NewGuid(), customerId, ThirtyDays, ReuseIfValidFor: SevenDays));
        Assert.Equal(current.Url, reused.Url);
        // The first link expired ten days ago, beyond the default retention of seven.
        await fixture.Database.ExecuteAsync("UPDATE portal_links SET expires_at = now() - interval '10 days' WHERE request_id = @id",
            ("id", old.RequestId));
        try
        {
            await RestartWorkerAsync(fixture.Worker.Settings.With(new Dictionary<string, string> { ["Database:UrlErasureInterval"] = "00:00:01" }));
            await Eventually.TrueAsync(async () => (await fixture.Database.RowAsync(old.RequestId))!.StoredUrl is null);
        }
        finally
        {
            await RestartWorkerAsync(null);
        }
        var erasedRow = (await fixture.Database.RowAsync(old.RequestId))!;
        Assert.Equal("generated", erasedRow.Status);
        Assert.NotNull(await fixture.Database.ScalarAsync("SELECT url_erased_at FROM portal_links WHERE request_id = @id", ("id", old.RequestId)));
        Assert.NotNull((await fixture.Database.RowAsync(current.RequestId))!.StoredUrl);

        var (exitCode, output) = await WorkerProcess.RunCommandAsync(fixture.Worker.Settings, "links", customerId);
        Assert.True(exitCode == 0, output);
        Assert.Contains("3 link(s)", output);
        Assert.Contains($"request {old.RequestId}  generated", output);
        Assert.Contains("URL erased", output);
        Assert.Contains($"reused from request {current.RequestId} (no Upflow call)", output);
        Assert.Contains("URL stored (encrypted)", output);
        Assert.DoesNotContain(current.Url, output);
        Assert.DoesNotMatch(new Regex("https://[^ ]+/p/"), output);

        (exitCode, output) = await WorkerProcess.RunCommandAsync(fixture.Worker.Settings, "links", customerId, "--show-url");
        Assert.True(exitCode == 0, output);
        Assert.Contains($"url {current.Url}", output);
        Assert.DoesNotContain(old.Url, output);
    }

    private async Task RestartWorkerAsync(IReadOnlyDictionary<string, string>? settings)
    {
        await fixture.Worker.StopAsync();
        await fixture.Worker.StartAsync(settings is null ? null : Overrides(settings));
    }

    /// <summary>The keys of <paramref name="settings"/> that differ from the fixture's: what StartAsync takes.</summary>
    private Dictionary<string, string> Overrides(IReadOnlyDictionary<string, string> settings) =>
        settings.Where(s => !fixture.Worker.Settings.TryGetValue(s.Key, out var value) || value != s.Value)
            .ToDictionary(s => s.Key, s => s.Value);
}
