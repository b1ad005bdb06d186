using System.Globalization;
using nietras.SeparatedValues;
using PortalLinkWorker.Input;
using PortalLinkWorker.Links;
using PortalLinkWorker.Persistence;

namespace PortalLinkWorker.Campaigns;

/// <summary>
/// Reads a campaign CSV as a stream, one row at a time: a header row naming a customer id column (<c>customer_id</c>,
/// <c>customerId</c>, <c>customer</c> or <c>id</c>, any case, with or without <c>_</c>, <c>-</c> or a space) and
/// optionally <c>expires_in</c> and <c>frame_ancestors</c>; other columns are ignored. Fields are separated by commas
/// (or by semicolons or tabs, when the header has no comma); a field may be quoted (<c>"a, b"</c>, <c>""</c> for a
/// quote, line breaks inside quotes); unquoted fields are trimmed; blank lines are skipped. Each row is checked with
/// the rules of <see cref="PortalLinkRequestValidator"/>, so that a file is either used whole or not at all.
/// Parsing is Sep's (linear, where the reader before it was quadratic on long quoted fields: 44 s for a 195 KB one);
/// a record is at most <see cref="MaxRecordLength"/> characters (past it the file is refused at that line) and a field
/// at most <see cref="MaxFieldLength"/> (past it the row is a problem row).
/// </summary>
public static class CampaignCsvReader
{
    /// <summary>Longest record (header included) read, in characters: a row names one customer (an id of at most 256
    /// characters, FrameAncestors of at most 8,127) and perhaps a few other columns.</summary>
    public const int MaxRecordLength = 64 * 1024;

    /// <summary>Longest field accepted, in characters.</summary>
    public const int MaxFieldLength = 16 * 1024;

    /// <summary>Characters of a bad header name or value echoed in a problem.</summary>
    private const int MaxEcho = 40;

    private static readonly string[] CustomerIdHeaders = ["customerid", "customer", "id", "upflowcustomerid"];
    private const string ExpiresInHeader = "expiresin";
    private const string FrameAncestorsHeader = "frameancestors";

    /// <summary>The rows of <paramref name="reader"/>, numbered 1, 2, … among the usable ones. A header without a customer id
    /// column yields one problem row for line 1 and nothing else; a record over <see cref="MaxRecordLength"/> yields a
    /// problem row for its line and ends the rows.</summary>
    public static IEnumerable<CampaignCsvRow> Read(TextReader reader, int maxExpiresIn, int? defaultExpiresIn = null,
        string? defaultFrameAncestors = null)
    {
        var text = new CampaignCsvText(reader, MaxRecordLength);
        var (csv, problem) = Open(text);
        if (problem is not null)
        {
            yield return problem;
            yield break;
        }
        using (csv)
        {
            var names = csv!.Header.ColNames;
            var header = names.Select(Normalize).ToList();
            var customerColumn = header.FindIndex(h => CustomerIdHeaders.Contains(h));
            if (customerColumn < 0)
            {
                yield return new CampaignCsvRow(1, null,
                    $"The header row has no customer id column: name one customer_id (or customerId, customer, id); found {string.Join(", ", names.Select(f => $"'{UntrustedText.Clean(f, MaxEcho)}'"))}.");
                yield break;
            }
            var expiresColumn = header.IndexOf(ExpiresInHeader);
            var frameColumn = header.IndexOf(FrameAncestorsHeader);
            var columns = header.Count;

            var itemNo = 0;
            while (Next(csv) is var (line, fields, tooLong) && (fields is not null || tooLong is not null))
            {
                if (tooLong is not null)
                {
                    yield return new CampaignCsvRow(line, null, tooLong);
                    yield break;
                }
                if (fields!.Length == 1 && fields[0].Length == 0)
                    continue;
                var rowProblem = Check(fields, columns, customerColumn, expiresColumn, frameColumn, maxExpiresIn, defaultExpiresIn,
                    defaultFrameAncestors, out var entry);
                yield return rowProblem is not null
                    ? new CampaignCsvRow(line, null, rowProblem)
                    : new CampaignCsvRow(line, entry! with { ItemNo = ++itemNo }, null);
            }
        }
    }

    /// <summary>The parser, past the header row; or the problem that ends the file at once (empty, header too long).</summary>
    private static (SepReader? Csv, CampaignCsvRow? Problem) Open(CampaignCsvText text)
    {
        try
        {
            var firstLine = text.PeekFirstLine();
            if (firstLine is null)
                return (null, new CampaignCsvRow(1, null, "The file is empty: it needs a header row with a customer id column (customer_id)."));
            var separator = firstLine.Contains(',') ? ',' : firstLine.Contains(';') ? ';' : firstLine.Contains('\t') ? '\t' : ',';
            return (Sep.Reader(o => o with
            {
                Sep = new Sep(separator),
                HasHeader = true,
                Unescape = true,
                // Outside quotes only: "a, b " keeps its space, an unquoted field is trimmed.
                Trim = SepTrim.Outer,
                // A row with the wrong number of fields is a problem row, not the end of the file.
                DisableColCountCheck = true,
                CultureInfo = CultureInfo.InvariantCulture,
            }).From(text), null);
        }
        catch (CampaignCsvRecordTooLongException e)
        {
            return (null, new CampaignCsvRow(e.Line, null, e.Message));
        }
    }

    /// <summary>The next record's line and fields; (0, null, null) at the end; a problem when it is too long.</summary>
    private static (int Line, string[]? Fields, string? TooLong) Next(SepReader csv)
    {
        try
        {
            if (!csv.MoveNext())
                return (0, null, null);
            var row = csv.Current;
            var fields = new string[row.ColCount];
            for (var i = 0; i < fields.Length; i++)
                fields[i] = row[i].Span.Length > MaxFieldLength ? TooLongField : row[i].ToString();
            return (row.LineNumberFrom, fields, null);
        }
        catch (CampaignCsvRecordTooLongException e)
        {
            return (e.Line, null, e.Message);
        }
    }

    /// <summary>Stands for a field over <see cref="MaxFieldLength"/> (no such field is copied); told apart by reference.</summary>
    private static readonly string TooLongField = new('\0', 1);

    private static string? Check(string[] fields, int columns, int customerColumn, int expiresColumn, int frameColumn,
        int maxExpiresIn, int? defaultExpiresIn, string? defaultFrameAncestors, out CampaignEntry? entry)
    {
        entry = null;
        if (fields.Length != columns)
            return $"{fields.Length} field(s) where the header has {columns}.";
        if (Array.FindIndex(fields, f => ReferenceEquals(f, TooLongField)) is var tooLong and >= 0)
            return $"Field {tooLong + 1} is longer than {MaxFieldLength:N0} characters.";
        var customerId = fields[customerColumn];
        var expiresIn = defaultExpiresIn;
        if (expiresColumn >= 0 && fields[expiresColumn].Length > 0)
        {
            if (!int.TryParse(fields[expiresColumn], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var seconds))
                return $"expires_in '{UntrustedText.Clean(fields[expiresColumn], MaxEcho)}' is not a whole number of seconds.";
            expiresIn = seconds;
        }
        var frameAncestors = frameColumn >= 0 && fields[frameColumn].Length > 0 ? fields[frameColumn] : defaultFrameAncestors;
        var problem = PortalLinkRequestValidator.ValidateCustomerId(customerId)
                      ?? PortalLinkRequestValidator.ValidateExpiresIn(expiresIn, maxExpiresIn)
                      ?? PortalLinkRequestValidator.ValidateFrameAncestors(frameAncestors);
        if (problem is not null)
            return problem;
        entry = new CampaignEntry(0, customerId, expiresIn, string.IsNullOrEmpty(frameAncestors) ? null : frameAncestors);
        return null;
    }

    private static string Normalize(string header) =>
        new(header.Trim().ToLowerInvariant().Where(c => c is not ('_' or '-' or ' ' or '.')).ToArray());
}
