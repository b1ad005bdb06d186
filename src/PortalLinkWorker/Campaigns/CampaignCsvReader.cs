using System.Globalization;
using System.Text;
using PortalLinkWorker.Links;

namespace PortalLinkWorker.Campaigns;

/// <summary>
/// Reads a campaign CSV as a stream, one row at a time: a header row naming a customer id column (<c>customer_id</c>,
/// <c>customerId</c>, <c>customer</c> or <c>id</c>, any case, with or without <c>_</c>, <c>-</c> or a space) and
/// optionally <c>expires_in</c> and <c>frame_ancestors</c>; other columns are ignored. Fields are separated by commas
/// (or by semicolons or tabs, when the header has no comma); a field may be quoted (<c>"a, b"</c>, <c>""</c> for a
/// quote, line breaks inside quotes); unquoted fields are trimmed; blank lines are skipped. Each row is checked with
/// the rules of <see cref="PortalLinkRequestValidator"/>, so that a file is either used whole or not at all.
/// </summary>
public static class CampaignCsvReader
{
    private static readonly string[] CustomerIdHeaders = ["customerid", "customer", "id", "upflowcustomerid"];
    private const string ExpiresInHeader = "expiresin";
    private const string FrameAncestorsHeader = "frameancestors";

    /// <summary>The rows of <paramref name="reader"/>, numbered 1, 2, … among the usable ones. A header without a customer id
    /// column yields one problem row for line 1 and nothing else.</summary>
    public static IEnumerable<CampaignCsvRow> Read(TextReader reader, int maxExpiresIn, int? defaultExpiresIn = null,
        string? defaultFrameAncestors = null)
    {
        var fields = new List<string>();
        var line = 1;
        var firstLine = reader.ReadLine();
        if (firstLine is null)
        {
            yield return new CampaignCsvRow(1, null, "The file is empty: it needs a header row with a customer id column (customer_id).");
            yield break;
        }
        var separator = firstLine.Contains(',') ? ',' : firstLine.Contains(';') ? ';' : firstLine.Contains('\t') ? '\t' : ',';
        var headerReader = new StringReader(firstLine);
        ReadRecord(headerReader, separator, fields, ref line);
        line = 1;
        var header = fields.Select(Normalize).ToList();
        var customerColumn = header.FindIndex(h => CustomerIdHeaders.Contains(h));
        if (customerColumn < 0)
        {
            yield return new CampaignCsvRow(1, null,
                $"The header row has no customer id column: name one customer_id (or customerId, customer, id); found {string.Join(", ", fields.Select(f => $"'{Printable(f)}'"))}.");
            yield break;
        }
        var expiresColumn = header.IndexOf(ExpiresInHeader);
        var frameColumn = header.IndexOf(FrameAncestorsHeader);
        var columns = header.Count;

        var itemNo = 0;
        while (true)
        {
            var start = line + 1;
            line = start;
            if (!ReadRecord(reader, separator, fields, ref line))
                yield break;
            if (fields.Count == 1 && fields[0].Length == 0)
                continue;
            var problem = Check(fields, columns, customerColumn, expiresColumn, frameColumn, maxExpiresIn, defaultExpiresIn,
                defaultFrameAncestors, out var entry);
            if (problem is not null)
                yield return new CampaignCsvRow(start, null, problem);
            else
                yield return new CampaignCsvRow(start, entry! with { ItemNo = ++itemNo }, null);
        }
    }

    private static string? Check(List<string> fields, int columns, int customerColumn, int expiresColumn, int frameColumn,
        int maxExpiresIn, int? defaultExpiresIn, string? defaultFrameAncestors, out CampaignEntry? entry)
    {
        entry = null;
        if (fields.Count != columns)
            return $"{fields.Count} field(s) where the header has {columns}.";
        var customerId = fields[customerColumn];
        var expiresIn = defaultExpiresIn;
        if (expiresColumn >= 0 && fields[expiresColumn].Length > 0)
        {
            if (!int.TryParse(fields[expiresColumn], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var seconds))
                return $"expires_in '{Printable(fields[expiresColumn])}' is not a whole number of seconds.";
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

    /// <summary>Reads one record into <paramref name="fields"/>; false at the end of the input. <paramref name="line"/>
    /// advances past line breaks inside quoted fields.</summary>
    private static bool ReadRecord(TextReader reader, char separator, List<string> fields, ref int line)
    {
        fields.Clear();
        var field = new StringBuilder();
        var quoted = false;
        var wasQuoted = false;
        var any = false;
        while (true)
        {
            var c = reader.Read();
            if (c < 0)
            {
                if (!any)
                    return false;
                fields.Add(Finish(field, wasQuoted));
                return true;
            }
            any = true;
            var ch = (char)c;
            if (quoted)
            {
                if (ch == '"')
                {
                    if (reader.Peek() == '"')
                    {
                        reader.Read();
                        field.Append('"');
                    }
                    else
                        quoted = false;
                }
                else
                {
                    if (ch == '\n')
                        line++;
                    field.Append(ch);
                }
                continue;
            }
            if (ch == '"' && field.ToString().Trim().Length == 0)
            {
                field.Clear();
                quoted = wasQuoted = true;
            }
            else if (ch == separator)
            {
                fields.Add(Finish(field, wasQuoted));
                field.Clear();
                wasQuoted = false;
            }
            else if (ch == '\n' || ch == '\r')
            {
                if (ch == '\r' && reader.Peek() == '\n')
                    reader.Read();
                fields.Add(Finish(field, wasQuoted));
                return true;
            }
            else if (!(wasQuoted && ch is ' ' or '\t'))
                field.Append(ch);
        }
    }

    private static string Finish(StringBuilder field, bool wasQuoted) => wasQuoted ? field.ToString() : field.ToString().Trim();

    private static string Normalize(string header) =>
        new(header.Trim().ToLowerInvariant().Where(c => c is not ('_' or '-' or ' ' or '.')).ToArray());

    private static string Printable(string value)
    {
        const int MaxEcho = 40;
        var cleaned = new string(value.Take(MaxEcho).Select(c => char.IsControl(c) ? '?' : c).ToArray());
        return value.Length > MaxEcho ? cleaned + "…" : cleaned;
    }
}
