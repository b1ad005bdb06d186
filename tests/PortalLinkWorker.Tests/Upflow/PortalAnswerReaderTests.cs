using System.ComponentModel.DataAnnotations;
using System.Text;
using PortalLinkWorker.Upflow;

namespace PortalLinkWorker.Tests.Upflow;

/// <summary>Which 2xx answers hold a portal URL we can read, and how the others are described: field names and JSON
/// kinds, never a value.</summary>
[Trait("Category", "Unit")]
public sealed class PortalAnswerReaderTests
{
    /// <summary>In every URL and value below: it must never show in a description.</summary>
    private const string Token = "tok-5e1f0a";

    private static readonly PortalUrlPolicy Policy =
        PortalUrlPolicy.TryParse("portal.test", out var policy) ? policy : throw new InvalidOperationException();

    private static PortalAnswerReader.Reading Read(string body, string? mediaType = "application/json", string urlField = "url") =>
        PortalAnswerReader.Read(Encoding.UTF8.GetBytes(body), mediaType, urlField, Policy);

    public static TheoryData<string, string?, string, string> Unreadable => new()
    {
        // body, content type, the problem named, what was received
        { $$"""{"link":"https://portal.test/p/{{Token}}","id":7}""", "application/json", "no 'url' field", "a JSON object with fields link (string), id (number)" },
        { $$"""{"URL":"https://portal.test/p/{{Token}}"}""", "application/json", "no 'url' field", "fields URL (string)" },
        { """{"url":42}""", "application/json", "a 'url' field holding a number, not a string", "url (number)" },
        { """{"url":null}""", "application/json", "a 'url' field holding a null", "url (null)" },
        { """{"url":true}""", "application/json", "a 'url' field holding a boolean", "url (boolean)" },
        { $$$"""{"url":{"href":"https://portal.test/p/{{{Token}}}"}}""", "application/json", "a 'url' field holding an object", "url (object)" },
        { $$"""{"url":"http://portal.test/p/{{Token}}"}""", "application/json", "not https", "url (string)" },
        { $$"""{"url":"https://evil.example/p/{{Token}}"}""", "application/json", "a host not in Upflow:PortalHosts", "url (string)" },
        { $$"""{"url":"https://user:{{Token}}@portal.test/p/x"}""", "application/json", "user information", "url (string)" },
        { $$"""{"url":"portal.test/p/{{Token}}"}""", "application/json", "not an absolute URL", "url (string)" },
        { $$"""["https://portal.test/p/{{Token}}"]""", "application/json", "a JSON array instead of an object", "a JSON array" },
        { $"\"https://portal.test/p/{Token}\"", "application/json", "a JSON string instead of an object", "a JSON string" },
        { """{}""", "application/json", "no 'url' field", "a JSON object with no fields" },
        { $$"""url={{Token}}""", null, "a body that is not JSON", "a body of 14 bytes" },
        { $$"""{"url":"https://portal.test/p/{{Token}}"}""", "text/html", "content type text/html, not JSON", "a body of" },
        { "", null, "a body that is not JSON", "a body of 0 bytes" },
    };

    [Theory]
    [MemberData(nameof(Unreadable))]
    public void Read_NoUsableUrl_NamesTheProblemAndTheShape_NeverAValue(string body, string? mediaType, string problem, string received)
    {
        var unreadable = Assert.IsType<PortalAnswerReader.Reading.Unreadable>(Read(body, mediaType));

        Assert.Contains(problem, unreadable.Problem);
        Assert.Contains(received, unreadable.Received);
        Assert.DoesNotContain(Token, unreadable.Problem + unreadable.Received);
        Assert.DoesNotContain("evil.example", unreadable.Problem + unreadable.Received);
    }

    [Theory]
    [InlineData("application/json")]
    [InlineData("application/problem+json")]
    [InlineData("text/json")]
    [InlineData(null)]
    public void Read_UrlOnAnAllowedHost_IsTheNormalisedLink(string? mediaType)
    {
        var link = Assert.IsType<PortalAnswerReader.Reading.Link>(Read($$"""{"url":"https://PORTAL.test/p/{{Token}}"}""", mediaType));
        Assert.Equal($"https://portal.test/p/{Token}", link.Url);
        Assert.Null(link.ExpiresAt);
    }

    [Fact]
    public void Read_RenamedField_ReadThroughUrlField()
    {
        const string body = $$"""{"link":"https://portal.test/p/{{Token}}","id":"x"}""";

        Assert.IsType<PortalAnswerReader.Reading.Unreadable>(Read(body));
        var link = Assert.IsType<PortalAnswerReader.Reading.Link>(Read(body, urlField: "link"));
        Assert.Equal($"https://portal.test/p/{Token}", link.Url);
    }

    [Fact]
    public void Read_ExpiryInTheAnswer_IsRead()
    {
        var link = Assert.IsType<PortalAnswerReader.Reading.Link>(
            Read($$"""{"url":"https://portal.test/p/{{Token}}","expiresAt":"2026-12-01T00:00:00+01:00"}"""));
        Assert.Equal(new DateTimeOffset(2026, 11, 30, 23, 0, 0, TimeSpan.Zero), link.ExpiresAt);
    }

    [Fact]
    public void Read_ByteOrderMark_IsSkipped()
    {
        var body = Encoding.UTF8.GetPreamble().Concat(Encoding.UTF8.GetBytes($$"""{"url":"https://portal.test/p/{{Token}}"}""")).ToArray();
        Assert.IsType<PortalAnswerReader.Reading.Link>(PortalAnswerReader.Read(body, null, "url", Policy));
    }

    [Fact]
    public void Read_HostileFieldNames_AreCleanedAndBounded()
    {
        var unreadable = Assert.IsType<PortalAnswerReader.Reading.Unreadable>(
            Read($$"""{"a\u2028b\r\nc, (d)":1,"{{new string('x', 500)}}":2}"""));

        Assert.Contains("a?b??c? ?d? (number)", unreadable.Received);
        Assert.DoesNotContain('\u2028', unreadable.Received);
        Assert.DoesNotContain('\n', unreadable.Received);
        Assert.DoesNotContain(new string('x', 41), unreadable.Received);
    }

    [Fact]
    public void Read_ManyFields_NamesTwentyAndCountsTheRest()
    {
        var body = "{" + string.Join(",", Enumerable.Range(0, 25).Select(i => $"\"f{i}\":{i}")) + "}";
        var unreadable = Assert.IsType<PortalAnswerReader.Reading.Unreadable>(Read(body));

        Assert.Contains("f19 (number)", unreadable.Received);
        Assert.DoesNotContain("f20", unreadable.Received);
        Assert.EndsWith("and 5 more", unreadable.Received);
    }

    [Theory]
    [InlineData("url", true)]
    [InlineData("portal_url", true)]
    [InlineData("portal-link", true)]
    [InlineData("_link2", true)]
    [InlineData("", false)]
    [InlineData("data.url", false)]
    [InlineData("2url", false)]
    [InlineData("-url", false)]
    [InlineData("u rl", false)]
    [InlineData("url\n", false)]
    [InlineData("\"url\"", false)]
    public void UrlField_OnlyAPlainPropertyName_Validates(string urlField, bool valid)
    {
        var options = new UpflowOptions { ApiKey = "k", ApiSecret = "s", UrlField = urlField };
        var problems = new List<ValidationResult>();

        Assert.Equal(valid, Validator.TryValidateObject(options, new ValidationContext(options), problems, validateAllProperties: true));
        if (!valid)
            Assert.All(problems, p => Assert.Contains("Upflow:UrlField", p.ErrorMessage));
    }

    [Fact]
    public void UrlField_TooLong_Refused()
    {
        var options = new UpflowOptions { ApiKey = "k", ApiSecret = "s", UrlField = new string('u', 65) };
        Assert.False(Validator.TryValidateObject(options, new ValidationContext(options), [], validateAllProperties: true));
    }
}
