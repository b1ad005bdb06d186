namespace PortalLinkWorker.Campaigns;

/// <summary>
/// A campaign file as <see cref="CampaignCsvReader"/> hands it to the CSV parser: one physical line per read (so rows
/// come out as the file is read, not a buffer ahead), and at most <see cref="CampaignCsvReader.MaxRecordLength"/>
/// characters per record — a record ends at a line break outside quotes, told by the parity of the quotes seen, so a
/// quoted field cannot stretch one record over a whole file. Past the limit it throws
/// <see cref="CampaignCsvRecordTooLongException"/>, and nothing more of the record was kept.
/// </summary>
internal sealed class CampaignCsvText(TextReader inner, int maxRecordLength) : TextReader
{
    private string? _pending;
    private int _pendingAt;
    private int _recordLength;
    private bool _inQuotes;
    private int _line = 1;
    private int _recordLine = 1;

    /// <summary>The first line without its line break (for choosing the separator), read within the record limit and
    /// handed to the parser again by the next reads; null for an empty file.</summary>
    public string? PeekFirstLine()
    {
        _pending ??= ReadPhysicalLine();
        return _pending.Length == 0 ? null : _pending.TrimEnd('\n').TrimEnd('\r');
    }

    public override int Read(Span<char> buffer)
    {
        if (buffer.IsEmpty)
            return 0;
        if (_pending is null || _pendingAt == _pending.Length)
        {
            _pending = ReadPhysicalLine();
            _pendingAt = 0;
        }
        var n = Math.Min(buffer.Length, _pending.Length - _pendingAt);
        _pending.AsSpan(_pendingAt, n).CopyTo(buffer);
        _pendingAt += n;
        return n;
    }

    public override int Read(char[] buffer, int index, int count) => Read(buffer.AsSpan(index, count));

    public override int Read()
    {
        Span<char> one = stackalloc char[1];
        return Read(one) == 0 ? -1 : one[0];
    }

    /// <summary>Up to and including the next '\n' (or the end), counting the record's length as it goes.</summary>
    private string ReadPhysicalLine()
    {
        var line = new System.Text.StringBuilder();
        while (inner.Read() is var c and >= 0)
        {
            var ch = (char)c;
            line.Append(ch);
            if (ch == '"')
                _inQuotes = !_inQuotes;
            if (ch == '\n')
            {
                _line++;
                if (!_inQuotes)
                {
                    _recordLength = 0;
                    _recordLine = _line;
                    break;
                }
            }
            else if (++_recordLength > maxRecordLength)
                throw new CampaignCsvRecordTooLongException(_recordLine, maxRecordLength);
        }
        return line.ToString();
    }

    protected override void Dispose(bool disposing)
    {
        // The caller owns the inner reader.
        base.Dispose(disposing);
    }
}
