using PortalLinkContracts;
using PortalLinkWorker.Links;

namespace PortalLinkWorker.Tests.Links;

[Trait("Category", "Unit")]
public sealed class PortalLinkRequestValidatorTests
{
    private const int MaxExpiresIn = 86_400_000;

    private static string? Validate(string customerId, int? expiresIn = null, string? frameAncestors = null) =>
        PortalLinkRequestValidator.Validate(new GeneratePortalLink(Guid.NewGuid(), customerId, expiresIn, frameAncestors), MaxExpiresIn);

    [Theory]
    [InlineData("a123b456-c7d8-4fb3-a3ae-29fd1b4a287e")]
    [InlineData("A123B456-C7D8-4FB3-A3AE-29FD1B4A287E")]
    [InlineData("external:123")]
    [InlineData("external:ACME/42 #1")]
    [InlineData("external:é-ü")]
    public void Validate_WellFormedCustomerId_Accepted(string customerId) => Assert.Null(Validate(customerId));

    [Theory]
    [InlineData("", "missing or empty")]
    [InlineData("external:", "no id after the prefix")]
    [InlineData("external:   ", "no id after the prefix")]
    [InlineData("123", "neither an Upflow customer UUID")]
    [InlineData("a123b456c7d84fb3a3ae29fd1b4a287e", "neither an Upflow customer UUID")]
    [InlineData("{a123b456-c7d8-4fb3-a3ae-29fd1b4a287e}", "neither an Upflow customer UUID")]
    [InlineData("External:123", "neither an Upflow customer UUID")]
    [InlineData(" a123b456-c7d8-4fb3-a3ae-29fd1b4a287e", "neither an Upflow customer UUID")]
    [InlineData("a123b456-c7d8-4fb3-a3ae-29fd1b4a287e ", "neither an Upflow customer UUID")]
    [InlineData("external:12\n3", "control character")]
    [InlineData("external:12\u00003", "control character")]
    public void Validate_MalformedCustomerId_Rejected(string customerId, string expected) =>
        Assert.Contains(expected, Validate(customerId));

    [Fact]
    public void Validate_NullCustomerId_Rejected() =>
        Assert.Contains("missing or empty", Validate(null!));

    [Fact]
    public void Validate_CustomerIdAtAndBeyondLengthLimit()
    {
        var atLimit = "external:" + new string('x', PortalLinkRequestValidator.MaxCustomerIdLength - "external:".Length);
        Assert.Null(Validate(atLimit));
        Assert.Contains("characters long", Validate(atLimit + "x"));
    }

    [Fact]
    public void Validate_EmptyRequestId_Rejected() =>
        Assert.Contains("RequestId", PortalLinkRequestValidator.Validate(new GeneratePortalLink(Guid.Empty, "external:1"), MaxExpiresIn));

    [Theory]
    [InlineData(null, true)]
    [InlineData(1, true)]
    [InlineData(86_400, true)]
    [InlineData(MaxExpiresIn, true)]
    [InlineData(MaxExpiresIn + 1, false)]
    [InlineData(0, false)]
    [InlineData(-5, false)]
    [InlineData(int.MinValue, false)]
    public void Validate_ExpiresIn_BoundedByMaxExpiresIn(int? expiresIn, bool accepted) =>
        Assert.Equal(accepted, Validate("external:1", expiresIn) is null);

    [Theory]
    [InlineData("")]
    [InlineData("extranet.merchant.com")]
    [InlineData("extranet.merchant.com intranet.merchant.com")]
    [InlineData("localhost")]
    [InlineData("xn--bcher-kva.example")]
    [InlineData("a-b.c-d.example")]
    public void Validate_HostNameLists_Accepted(string frameAncestors) =>
        Assert.Null(Validate("external:1", frameAncestors: frameAncestors));

    [Theory]
    [InlineData("https://merchant.com")]
    [InlineData("merchant.com:443")]
    [InlineData("merchant.com/path")]
    [InlineData("*.merchant.com")]
    [InlineData("'self'")]
    [InlineData("a.com; script-src *")]
    [InlineData("a.com,b.com")]
    [InlineData("a.com  b.com")]
    [InlineData(" a.com")]
    [InlineData("a.com ")]
    [InlineData("a.com\nb.com")]
    [InlineData("a.com\tb.com")]
    [InlineData("\"a.com\"")]
    [InlineData("-a.com")]
    [InlineData("a-.com")]
    [InlineData("a..com")]
    [InlineData("a.com.")]
    [InlineData("bücher.example")]
    [InlineData(" ")]
    public void Validate_AnythingButHostNames_Rejected(string frameAncestors) =>
        Assert.Contains("FrameAncestors", Validate("external:1", frameAncestors: frameAncestors));

    [Fact]
    public void Validate_LabelAndNameLengthLimits()
    {
        var label63 = new string('a', 63);
        Assert.Null(Validate("external:1", frameAncestors: label63 + ".com"));
        Assert.Contains("label of 64", Validate("external:1", frameAncestors: label63 + "a.com"));

        var name253 = string.Join('.', Enumerable.Repeat(new string('b', 49), 5)) + ".com"; // 5*49 + 4 + 4 = 253
        Assert.Equal(253, name253.Length);
        Assert.Null(Validate("external:1", frameAncestors: name253));
        Assert.Contains("254 characters", Validate("external:1", frameAncestors: "b" + name253));
    }

    [Fact]
    public void Validate_TooManyHosts_Rejected()
    {
        var hosts = Enumerable.Range(0, PortalLinkRequestValidator.MaxFrameAncestors).Select(i => $"h{i}.example").ToList();
        Assert.Null(Validate("external:1", frameAncestors: string.Join(' ', hosts)));
        hosts.Add("one-more.example");
        Assert.Contains("at most", Validate("external:1", frameAncestors: string.Join(' ', hosts)));
    }

    [Fact]
    public void Validate_ErrorMessage_DoesNotEchoControlCharacters() =>
        Assert.DoesNotContain('\n', Validate("external:1", frameAncestors: "a\n.com")!);
}
