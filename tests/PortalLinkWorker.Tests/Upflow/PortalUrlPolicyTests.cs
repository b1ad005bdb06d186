using PortalLinkWorker.Upflow;
using Verdict = PortalLinkWorker.Upflow.PortalUrlPolicy.Verdict;

namespace PortalLinkWorker.Tests.Upflow;

/// <summary>Which portal URLs may be stored and published, for a given <c>Upflow:PortalHosts</c>.</summary>
[Trait("Category", "Unit")]
public sealed class PortalUrlPolicyTests
{
    private static PortalUrlPolicy Policy(string hosts = UpflowOptions.DefaultPortalHosts) =>
        PortalUrlPolicy.TryParse(hosts, out var policy) ? policy : throw new ArgumentException("not a policy", nameof(hosts));

    [Theory]
    [InlineData("https://app.upflow.io/customers/abc", Verdict.Allowed)]
    [InlineData("https://app.sandbox.upflow.io/customers/abc", Verdict.Allowed)]
    [InlineData("https://APP.Upflow.IO./customers/abc", Verdict.Allowed)]
    [InlineData("https://upflow.io/customers/abc", Verdict.HostNotAllowed)]
    [InlineData("https://app.upflow.io.evil.example/customers/abc", Verdict.HostNotAllowed)]
    [InlineData("https://evilupflow.io/customers/abc", Verdict.HostNotAllowed)]
    [InlineData("https://127.0.0.1/customers/abc", Verdict.HostNotAllowed)]
    [InlineData("http://app.upflow.io/customers/abc", Verdict.NotHttps)]
    [InlineData("javascript:alert(1)", Verdict.NotHttps)]
    [InlineData("https://user:pw@app.upflow.io/customers/abc", Verdict.UserInfo)]
    [InlineData("https://app.upflow.io@evil.example/customers/abc", Verdict.UserInfo)]
    [InlineData("https://app.upflow.io/customers/abc\r\nSet-Cookie: x=1", Verdict.ControlCharacter)]
    [InlineData("https://app.upflow.io/customers/a\u2028b", Verdict.ControlCharacter)]
    [InlineData("https://app.upflow.io/customers/\u202Eabc", Verdict.ControlCharacter)]
    [InlineData(" https://app.upflow.io/customers/abc", Verdict.ControlCharacter)]
    [InlineData("app.upflow.io/customers/abc", Verdict.NotAbsolute)]
    [InlineData("", Verdict.NotAbsolute)]
    public void Check_DefaultHosts(string url, Verdict expected) =>
        Assert.Equal(expected, Policy().Check(url, out _));

    [Fact]
    public void Check_Allowed_GivesTheNormalisedUri()
    {
        Assert.Equal(Verdict.Allowed, Policy().Check("https://APP.upflow.io/customers/a%2fb?x=1#f", out var normalised));
        Assert.Equal("https://app.upflow.io/customers/a%2fb?x=1#f", normalised);
    }

    [Theory]
    [InlineData("portal.example.com", "https://portal.example.com/p/1", Verdict.Allowed)]
    [InlineData("portal.example.com", "https://a.portal.example.com/p/1", Verdict.HostNotAllowed)]
    [InlineData("*.example.com, portal.upflow-simulator.invalid", "https://portal.upflow-simulator.invalid/p/1", Verdict.Allowed)]
    [InlineData("*.example.com, portal.upflow-simulator.invalid", "https://a.b.example.com/p/1", Verdict.Allowed)]
    [InlineData("*.example.com", "https://example.com/p/1", Verdict.HostNotAllowed)]
    public void Check_ConfiguredHosts(string hosts, string url, Verdict expected) =>
        Assert.Equal(expected, Policy(hosts).Check(url, out _));

    [Theory]
    [InlineData("*.upflow.io", true)]
    [InlineData("portal.example.com,*.upflow.io", true)]
    [InlineData("localhost", true)]
    [InlineData("", false)]
    [InlineData("*", false)]
    [InlineData("*.io", false)]
    [InlineData("**.upflow.io", false)]
    [InlineData("https://app.upflow.io", false)]
    [InlineData("app.upflow.io:443", false)]
    public void TryParse_AcceptsHostNamesAndWildcardsOnly(string hosts, bool valid) =>
        Assert.Equal(valid, PortalUrlPolicy.TryParse(hosts, out _));
}
