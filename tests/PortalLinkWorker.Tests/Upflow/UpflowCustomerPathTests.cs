using PortalLinkWorker.Upflow;

namespace PortalLinkWorker.Tests.Upflow;

[Trait("Category", "Unit")]
public sealed class UpflowCustomerPathTests
{
    [Theory]
    [InlineData("a123b456-c7d8-4fb3-a3ae-29fd1b4a287e", "customers/a123b456-c7d8-4fb3-a3ae-29fd1b4a287e/portal")]
    [InlineData("external:123", "customers/external:123/portal")]
    [InlineData("external:ACME/42 #1", "customers/external:ACME%2F42%20%231/portal")]
    [InlineData("external:a?b=c&d", "customers/external:a%3Fb%3Dc%26d/portal")]
    [InlineData("external:100%", "customers/external:100%25/portal")]
    [InlineData("external:..", "customers/external:../portal")]
    [InlineData("external:é", "customers/external:%C3%A9/portal")]
    public void PortalPath_EscapesTheIdAsOneSegment(string customerId, string expected) =>
        Assert.Equal(expected, UpflowCustomerPath.PortalPath(customerId));

    [Fact]
    public void PortalPath_SurvivesUriConstruction()
    {
        var uri = new Uri(new Uri("https://api.upflow.io/v1/"), UpflowCustomerPath.PortalPath("external:ACME/42 #1"));
        Assert.Equal("/v1/customers/external:ACME%2F42%20%231/portal", uri.AbsolutePath);
        Assert.Equal("", uri.Fragment);
    }
}
