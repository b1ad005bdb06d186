using System.Diagnostics.CodeAnalysis;
using Npgsql;

namespace PortalLinkWorker.Persistence;

/// <summary>
/// The URL column as a whole: the register of a customer's links, erasure after retention, and re-encryption under the
/// first key of <c>Database:UrlKeys</c>. Each batch statement locks the rows it changes with <c>FOR UPDATE SKIP LOCKED</c>,
/// so several replicas (or a replica and the <c>links reencrypt</c> command) share the work without waiting for each
/// other or for a request transaction that holds a row.
/// </summary>
public sealed class StoredUrls(NpgsqlDataSource dataSource, UrlProtector protector)
{
    /// <summary>Erases, in batches of <paramref name="batchSize"/>, the URLs of links that expired before
    /// <paramref name="expiredBefore"/>; the rows stay, with <c>url_erased_at</c> set. Returns how many were erased.</summary>
    public async Task<int> EraseExpiredAsync(DateTimeOffset expiredBefore, int batchSize, CancellationToken cancellationToken)
    {
        var erased = 0;
        while (true)
        {
            await using var command = dataSource.CreateCommand("""
                UPDATE portal_links SET url = NULL, url_erased_at = clock_timestamp(), updated_at = clock_timestamp()
                WHERE request_id IN (
                    SELECT request_id FROM portal_links
                    WHERE url IS NOT NULL AND expires_at < $1
                    ORDER BY expires_at
                    LIMIT $2
                    FOR UPDATE SKIP LOCKED)
                """);
            command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = expiredBefore });
            command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = batchSize });
            var batch = await command.ExecuteNonQueryAsync(cancellationToken);
            erased += batch;
            if (batch < batchSize)
                return erased;
        }
    }

    /// <summary>Re-encrypts, in batches, every stored URL not yet under the first key (including URLs stored in clear
    /// before encryption existed). A row changed meanwhile by someone else is left to them; a value no key decrypts is
    /// counted and left as it is.</summary>
    public async Task<ReencryptionResult> ReencryptAsync(int batchSize, CancellationToken cancellationToken)
    {
        var done = 0;
        var unreadable = 0;
        var after = Guid.Empty;
        while (true)
        {
            var rows = new List<(Guid RequestId, string Stored)>();
            await using (var select = dataSource.CreateCommand("""
                SELECT request_id, url FROM portal_links
                WHERE url IS NOT NULL AND request_id > $1
                ORDER BY request_id
                LIMIT $2
                """))
            {
                select.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = after });
                select.Parameters.Add(new NpgsqlParameter<int> { TypedValue = batchSize });
                await using var reader = await select.ExecuteReaderAsync(cancellationToken);
                while (await reader.ReadAsync(cancellationToken))
                    rows.Add((reader.GetGuid(0), reader.GetString(1)));
            }
            if (rows.Count == 0)
                return new ReencryptionResult(done, unreadable);
            after = rows[^1].RequestId;

            await using var batch = dataSource.CreateBatch();
            foreach (var (requestId, stored) in rows)
            {
                if (!protector.NeedsReencryption(stored))
                    continue;
                if (!TryRead(stored, requestId, out var url))
                {
                    unreadable++;
                    continue;
                }
                // Only if the value is still the one read: a concurrent erasure or rotation wins.
                batch.BatchCommands.Add(new NpgsqlBatchCommand("UPDATE portal_links SET url = $2 WHERE request_id = $1 AND url = $3")
                {
                    Parameters =
                    {
                        new NpgsqlParameter<Guid> { TypedValue = requestId },
                        new NpgsqlParameter<string> { TypedValue = protector.Protect(url, requestId) },
                        new NpgsqlParameter<string> { TypedValue = stored },
                    },
                });
            }
            if (batch.BatchCommands.Count > 0)
                done += await batch.ExecuteNonQueryAsync(cancellationToken);
        }
    }

    /// <summary>A customer's links, newest first, at most <paramref name="limit"/>. The URL is decrypted only when
    /// <paramref name="withUrl"/> is set (the <c>--show-url</c> flag of <c>links</c>).</summary>
    public async Task<IReadOnlyList<RegisteredLink>> ListAsync(string customerId, bool withUrl, int limit, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand($"""
            SELECT {PortalLinkRow.Columns} FROM portal_links
            WHERE customer_id = $1
            ORDER BY created_at DESC, request_id
            LIMIT $2
            """);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = customerId });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = limit });
        var links = new List<RegisteredLink>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            // The row as stored: its url column is the encrypted value (PortalLinkRow does not decrypt).
            var row = PortalLinkRow.Read(reader);
            var stored = row.Url;
            string? url = null;
            var readable = stored is not null && TryRead(stored, row.RequestId, out url);
            row.Url = withUrl && readable ? url : null;
            links.Add(new RegisteredLink(row, stored is not null, stored is not null && UrlProtector.IsEncrypted(stored), readable));
        }
        return links;
    }

    private bool TryRead(string stored, Guid requestId, [NotNullWhen(true)] out string? url)
    {
        try
        {
            url = protector.Read(stored, requestId);
            return true;
        }
        catch (UrlProtectionException)
        {
            url = null;
            return false;
        }
    }
}

/// <summary>What <see cref="StoredUrls.ReencryptAsync"/> did: rows now under the first key, and rows no key decrypts.</summary>
public sealed record ReencryptionResult(int Reencrypted, int Unreadable);

/// <summary>One row of the register (<c>PortalLinkWorker links</c>): the request's row, whose <see cref="PortalLink.Url"/> is
/// set only when asked for, and what is stored in its url column.</summary>
public sealed record RegisteredLink(PortalLink Link, bool UrlStored, bool UrlEncrypted, bool UrlReadable);
