using System.Text;
using PortalLinkContracts;
using PortalLinkWorker.Campaigns;
using PortalLinkWorker.Input;
using PortalLinkWorker.Links;

namespace PortalLinkWorker.Tests.Links;

[Trait("Category", "Unit")]
public sealed class UntrustedTextTests
{
    public static TheoryData<string, string> UnsafeTexts() => new()
    {
        { "CR/LF", "a\r\n12:00:00 INF Portal link generated" },
        { "NUL", "a\0b" },
        { "U+2028", "a\u2028b" },
        { "U+2029", "a\u2029b" },
        { "bidi override", "a\u202Eb" },
        { "zero-width space", "a\u200Bb" },
        { "BOM", "\uFEFFa" },
        { "lone high surrogate", "a\uD800b" },
        { "lone low surrogate", "a\uDC00" },
        { "tag character (Cf, outside the BMP)", "a\U000E0041" },
    };

    [Theory]
    [MemberData(nameof(UnsafeTexts), DisableDiscoveryEnumeration = true)] // xunit would replace a lone surrogate in discovery
    public void FindUnsafe_EachKind_Found(string kind, string text) => Assert.True(UntrustedText.FindUnsafe(text) is not null, kind);

    [Theory]
    [MemberData(nameof(UnsafeTexts), DisableDiscoveryEnumeration = true)] // xunit would replace a lone surrogate in discovery
    public void Clean_EachKind_NothingUnsafeLeft(string kind, string text) =>
        Assert.True(UntrustedText.FindUnsafe(UntrustedText.Clean(text)) is null, kind);

    [Theory]
    [InlineData("external:ACME/42 #1")]
    [InlineData("external:東京-42")]
    [InlineData("external:emoji-😀")]
    public void FindUnsafe_OrdinaryText_None(string text)
    {
        Assert.Null(UntrustedText.FindUnsafe(text));
        Assert.Equal(text, UntrustedText.Clean(text));
    }

    [Fact]
    public void Clean_Long_CutWithAMark_NeverSplitsAPair()
    {
        var text = "a" + string.Concat(Enumerable.Repeat("😀", 500));
        var cleaned = UntrustedText.Clean(text, 10);

        Assert.EndsWith(UntrustedText.CutMark, cleaned);
        Assert.True(cleaned.Length <= 10 + UntrustedText.CutMark.Length);
        Assert.Null(UntrustedText.FindUnsafe(cleaned));
    }

    [Fact]
    public void CutToUtf8Bytes_1024Cjk_CutByBytesNotCharacters()
    {
        var cut = UntrustedText.CutToUtf8Bytes("external:" + new string('東', 1024), CustomerIdEcho.MaxStoredBytes);

        Assert.True(Encoding.UTF8.GetByteCount(cut) <= CustomerIdEcho.MaxStoredBytes);
        Assert.True(Encoding.UTF8.GetByteCount(cut) > CustomerIdEcho.MaxStoredBytes - 3);
    }

    [Fact]
    public void CutToUtf8Bytes_NulAndLoneSurrogate_Replaced_PairKept()
    {
        var cut = UntrustedText.CutToUtf8Bytes("a\0b\uD800c😀", 100);

        Assert.Equal("a\uFFFDb\uFFFDc😀", cut);
        Assert.Equal("ab", UntrustedText.CutToUtf8Bytes("ab😀", 5)); // never half of the pair
    }

    [Fact]
    public void CustomerIdEcho_FiveMegabytes_EchoedBounded_StoredWithinTheIndex()
    {
        var id = "external:" + new string('x', 5_000_000);

        Assert.True(CustomerIdEcho.Echoed(id).Length <= UntrustedText.MaxEchoLength + 1);
        Assert.True(Encoding.UTF8.GetByteCount(CustomerIdEcho.Stored(id)) <= CustomerIdEcho.MaxStoredBytes);
        Assert.Equal("external:ok", CustomerIdEcho.Echoed("external:ok"));
    }

    [Theory]
    [InlineData("Spring\r\n12:00:00 INF Portal link generated")]
    [InlineData("Spring\u2028dunning")]
    [InlineData("Spring\0")]
    [InlineData("\u202Egnirps")]
    public void ValidateCampaignName_Unsafe_Refused(string name) =>
        Assert.Contains("control character", PortalLinkRequestValidator.ValidateCampaignName(name));

    [Fact]
    public void ValidateCampaignName_TooLong_Refused() =>
        Assert.NotNull(PortalLinkRequestValidator.ValidateCampaignName(new string('n', PortalLinkRequestValidator.MaxCampaignNameLength + 1)));

    public static TheoryData<string, StartPortalLinkCampaign, string> RefusedStarts() => new()
    {
        { "no CampaignId", new StartPortalLinkCampaign(Guid.Empty, "x", ["external:1"]), "CampaignId" },
        { "NUL in an id", new StartPortalLinkCampaign(Guid.NewGuid(), "x", ["external:1", "external:\0"]), "CustomerIds[1]" },
        { "lone surrogate in an id", new StartPortalLinkCampaign(Guid.NewGuid(), "x", ["external:\uD800"]), "CustomerIds[0]" },
        { "NUL in the name", new StartPortalLinkCampaign(Guid.NewGuid(), "x\0", ["external:1"]), "Name" },
        { "CR/LF in the name", new StartPortalLinkCampaign(Guid.NewGuid(), "x\r\nINF forged", ["external:1"]), "Name" },
        { "too many ids", new StartPortalLinkCampaign(Guid.NewGuid(), "x",
            Enumerable.Range(0, CampaignOptions.MinCustomerIdsPerMessage + 1).Select(i => $"external:{i}").ToArray()), "at most 10,000" },
    };

    [Theory]
    [MemberData(nameof(RefusedStarts))]
    public void CampaignStartValidator_Refused_WithAReasonFreeOfTheInput(string kind, StartPortalLinkCampaign start, string expected)
    {
        var reason = CampaignStartValidator.Validate(start, CampaignOptions.MinCustomerIdsPerMessage);

        Assert.True(reason is not null, kind);
        Assert.Contains(expected, reason);
        Assert.Null(UntrustedText.FindUnsafe(reason));
    }

    [Fact]
    public void CampaignStartValidator_InvalidButStorableIds_Accepted() =>
        Assert.Null(CampaignStartValidator.Validate(new StartPortalLinkCampaign(Guid.NewGuid(), "mixed", ["not an id", "", "external:a\r\nb"]),
            CampaignOptions.MinCustomerIdsPerMessage));

    [Fact]
    public void RequestKeys_LoneSurrogateCustomerId_RequestIdStillRead()
    {
        var id = Guid.NewGuid();
        var keys = RequestKeys.Read(Encoding.UTF8.GetBytes($$"""{"requestId":"{{id}}","customerId":"external:\ud800x"}"""));

        Assert.Equal(id, keys!.RequestId);
        Assert.Null(UntrustedText.FindUnsafe(keys.CustomerId));
    }

    [Fact]
    public void RequestKeys_Envelope_MessageWins_HugeValuesNotMaterialised()
    {
        var id = Guid.NewGuid();
        var body = $$$"""{"messageId":"{{{Guid.NewGuid()}}}","headers":{"requestId":"{{{Guid.NewGuid()}}}"},"message":{"padding":"{{{new string('p', 1_000_000)}}}","requestId":"{{{id}}}","customerId":"external:{{{new string('x', 1_000_000)}}}"}}""";

        var keys = RequestKeys.Read(Encoding.UTF8.GetBytes(body))!;

        Assert.Equal(id, keys.RequestId);
        Assert.True(keys.CustomerId.Length < 2_000);
    }
}
