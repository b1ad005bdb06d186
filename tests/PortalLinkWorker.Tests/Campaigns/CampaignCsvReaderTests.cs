using PortalLinkWorker.Campaigns;
using PortalLinkWorker.Persistence;

namespace PortalLinkWorker.Tests.Campaigns;

[Trait("Category", "Unit")]
public sealed class CampaignCsvReaderTests
{
    private const int MaxExpiresIn = 86_400_000;

    private static List<CampaignCsvRow> Read(string csv, int? expiresIn = null, string? frameAncestors = null) =>
        CampaignCsvReader.Read(new StringReader(csv), MaxExpiresIn, expiresIn, frameAncestors).ToList();

    [Theory]
    [InlineData("customer_id")]
    [InlineData("customerId")]
    [InlineData("Customer ID")]
    [InlineData("id")]
    [InlineData("customer")]
    public void Read_CommonCustomerIdHeaders_Accepted(string header)
    {
        var rows = Read($"{header}\nexternal:1\n");

        var row = Assert.Single(rows);
        Assert.Null(row.Problem);
        Assert.Equal(new CampaignEntry(1, "external:1", null, null), row.Entry);
    }

    [Fact]
    public void Read_QuotedFieldsAndPerRowSettings_ReadAsWritten()
    {
        var rows = Read(""""
            name,customer_id,expires_in,frame_ancestors
            "ACME, Inc.","external:ACME ""42""",600,"a.example b.example"
            Beta , external:beta ,,
            """", expiresIn: 3600, frameAncestors: "default.example");

        Assert.All(rows, r => Assert.Null(r.Problem));
        Assert.Equal(new CampaignEntry(1, "external:ACME \"42\"", 600, "a.example b.example"), rows[0].Entry);
        // Unquoted fields are trimmed; empty per-row settings take the campaign's.
        Assert.Equal(new CampaignEntry(2, "external:beta", 3600, "default.example"), rows[1].Entry);
    }

    [Fact]
    public void Read_BadRows_EachReportedWithItsLineNumber()
    {
        var rows = Read(
            "customer_id,expires_in,frame_ancestors\r\n" +   // line 1
            "external:ok-1,,\r\n" +                          // line 2
            "not-an-id,,\r\n" +                              // line 3
            "\r\n" +                                         // line 4: blank, skipped
            "external:ok-2,-5,\r\n" +                        // line 5
            "\"external:multi\nline\",,\r\n" +               // lines 6-7: a control character inside quotes
            "external:ok-3,60,https://a.example\r\n" +       // line 8
            "external:ok-4,abc,\r\n" +                       // line 9
            "external:ok-5\r\n" +                            // line 10: one field of three
            "external:ok-6,,\r\n");                          // line 11

        var problems = rows.Where(r => r.Problem is not null).Select(r => r.Line).ToList();
        Assert.Equal([3, 5, 6, 8, 9, 10], problems);
        Assert.Equal(["external:ok-1", "external:ok-6"], rows.Where(r => r.Entry is not null).Select(r => r.Entry!.CustomerId));
        // Good rows are numbered among themselves, so a re-run of the same file numbers them the same.
        Assert.Equal([1, 2], rows.Where(r => r.Entry is not null).Select(r => r.Entry!.ItemNo));
        Assert.Contains("expires_in 'abc'", rows.Single(r => r.Line == 9).Problem);
        Assert.Contains("FrameAncestors", rows.Single(r => r.Line == 8).Problem);
    }

    [Fact]
    public void Read_NoCustomerIdColumn_OneProblemForTheHeader()
    {
        var row = Assert.Single(Read("email,amount\na@b.example,12\n"));

        Assert.Equal(1, row.Line);
        Assert.Contains("customer_id", row.Problem);
    }

    [Fact]
    public void Read_SemicolonSeparatedFile_Accepted()
    {
        var rows = Read("customer_id;expires_in\nexternal:1;60\n");

        Assert.Equal(new CampaignEntry(1, "external:1", 60, null), Assert.Single(rows).Entry);
    }

    [Fact]
    public void Read_EmptyFile_Problem() =>
        Assert.NotNull(Assert.Single(Read("")).Problem);

    [Fact]
    public void Read_IsLazy_RowsComeOneAtATime()
    {
        // The parser reads a buffer ahead (a few thousand characters), never the whole file: with 100,000 rows behind
        // the first, most of the file is still unread when the first row is there.
        var rest = string.Concat(Enumerable.Range(3, 100_000).Select(i => $"external:{i}\n"));
        var reader = new StringReader("customer_id\nexternal:1\nexternal:2\n" + rest);
        using var rows = CampaignCsvReader.Read(reader, MaxExpiresIn).GetEnumerator();

        Assert.True(rows.MoveNext());
        Assert.Equal("external:1", rows.Current.Entry!.CustomerId);
        Assert.True(reader.ReadToEnd().Length > rest.Length / 2);
    }

    public static TheoryData<string, string, int> Hostile() => new()
    {
        // 200 KB in one quoted field: refused at its line, in linear time (the reader before took 44 s for 195 KB).
        { "200 KB quoted field", "customer_id,note\nexternal:1,\"" + new string('x', 200_000) + "\"\nexternal:2,\n", 2 },
        { "an unclosed quote", "customer_id\nexternal:1\n\"external:2\n" + string.Concat(Enumerable.Repeat("more\n", 20_000)), 3 },
        { "200 KB header", new string('h', 200_000) + ",customer_id\nexternal:1\n", 1 },
    };

    [Theory]
    [MemberData(nameof(Hostile))]
    public void Read_RecordOverTheLimit_OneProblemAtItsLine_FileNotReadFurther(string kind, string csv, int line)
    {
        var rows = Read(csv);

        var last = rows[^1];
        Assert.True(last.Problem is not null, kind);
        Assert.Equal(line, last.Line);
        Assert.Contains("longer than", last.Problem);
        Assert.True(last.Problem.Length < 300, kind);
    }

    [Fact]
    public void Read_FieldOverTheFieldLimit_ProblemRow_RestRead()
    {
        var rows = Read($"customer_id,note\nexternal:1,{new string('n', CampaignCsvReader.MaxFieldLength + 1)}\nexternal:2,\n");

        Assert.Contains("longer than", rows[0].Problem);
        Assert.Equal("external:2", rows[1].Entry!.CustomerId);
    }

    [Theory]
    [InlineData("external:a\u2028b")]
    [InlineData("external:a\u202Eb")]
    [InlineData("external:a\u0000b")]
    public void Read_UnsafeCharacterInAnId_ProblemRow(string id) =>
        Assert.Contains("control character", Assert.Single(Read($"customer_id\n{id}\n")).Problem);
}
