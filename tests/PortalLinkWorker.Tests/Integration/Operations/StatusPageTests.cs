using System.Globalization;
using System.Text.RegularExpressions;
using PortalLinkContracts;

namespace PortalLinkWorker.Tests.Integration.Operations;

/// <summary>The status page at <c>/</c>, rendered by a real headless Chromium against the running worker after a few
/// requests: its script has filled in live numbers from <c>/status.json</c>. A screenshot is kept under TestResults/.</summary>
[Collection(WorkerCollection.Name)]
[Trait("Category", "Integration")]
public sealed partial class StatusPageTests(WorkerFixture fixture)
{
    private static readonly TimeSpan PageTime = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task StatusPage_InChromium_ShowsLiveNumbers_NeverAUrl()
    {
        var generated = Enumerable.Range(0, 3).Select(i => new GeneratePortalLink(Guid.NewGuid(), $"external:status-{i}", 600)).ToList();
        var failing = new GeneratePortalLink(Guid.NewGuid(), "external:unknown-status-page", 600);
        foreach (var request in generated.Append(failing))
            await fixture.Observer.Bus.Publish(request);
        await fixture.Observer.ExpectGeneratedAsync(generated);
        await fixture.Observer.OutcomeAsync<PortalLinkFailed>(failing.RequestId);
        var campaign = new StartPortalLinkCampaign(Guid.NewGuid(), $"Status page {Guid.NewGuid():N}"[..24],
            ["external:status-campaign-1", "external:status-campaign-2", "external:unknown-status-campaign"], 600, null);
        await fixture.Observer.Bus.Publish(campaign);
        await fixture.Observer.WaitForCompletionsAsync(campaign.CampaignId);
        // The page's campaigns come from a reading every few seconds. The campaign's id alone is no sign of that reading:
        // its failed item's id shows in the recent failures first.
        using var http = new HttpClient { BaseAddress = fixture.Worker.Url };
        await Eventually.TrueAsync(async () =>
        {
            using var json = System.Text.Json.JsonDocument.Parse(await http.GetStringAsync("/status.json"));
            return json.RootElement.GetProperty("campaigns").EnumerateArray().Any(c =>
                c.GetProperty("id").GetString() == campaign.CampaignId.ToString() && c.GetProperty("state").GetString() == "completed");
        });

        var page = fixture.Worker.Url;
        var dom = await Chromium.DumpDomAsync(page, PageTime);

        Assert.Contains("data-loaded=\"true\"", dom);
        Assert.True(Number(dom, "generated-total") >= generated.Count, Element(dom, "generated-total"));
        Assert.True(Number(dom, "generated-hour") >= generated.Count, Element(dom, "generated-hour"));
        Assert.True(Number(dom, "failed-total") >= 1, Element(dom, "failed-total"));
        Assert.Equal("running", Element(dom, "upflow-state"));
        Assert.Contains(failing.RequestId.ToString(), dom);
        Assert.Contains("external:unknown-status-page", dom);
        Assert.Contains("CustomerNotFound", dom);
        Assert.Matches(@"<td>generate-portal-link</td><td class=""num"">\d+</td><td class=""num"">[1-9]\d*</td>", dom);
        Assert.Contains("id=\"campaigns-section\"", dom);
        var campaignRow = Regex.Match(dom, $"<tr>(?:(?!</tr>).)*{Regex.Escape(campaign.Name)}(?:(?!</tr>).)*</tr>", RegexOptions.Singleline);
        Assert.True(campaignRow.Success, "no row for the campaign in the page");
        Assert.Contains("completed", campaignRow.Value);
        Assert.Contains("class=\"progress\" title=\"3 of 3\"", campaignRow.Value);
        Assert.Matches(@"<td class=""num"">2</td><td class=""num"">1</td><td class=""num"">3</td>", campaignRow.Value);
        Assert.DoesNotContain("portal.upflow-simulator.invalid", dom);
        Assert.DoesNotContain(WorkerFixture.ApiSecret, dom);

        var screenshot = Path.Combine(ResultsDirectory(), $"status-page-{DateTime.UtcNow:yyyyMMdd-HHmmss}.png");
        await Chromium.ScreenshotAsync(page, screenshot, PageTime);
        Assert.True(new FileInfo(screenshot).Length > 10_000, $"screenshot {screenshot} is (nearly) empty");
    }

    private static string Element(string dom, string id)
    {
        var match = Regex.Match(dom, $"id=\"{id}\"[^>]*>([^<]*)<");
        Assert.True(match.Success, $"no element #{id} in the page");
        return match.Groups[1].Value;
    }

    private static long Number(string dom, string id) =>
        long.TryParse(Element(dom, id).Replace(",", ""), NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : -1;

    /// <summary>TestResults/ at the repository root (scripts/test.sh puts its runs there too).</summary>
    private static string ResultsDirectory()
    {
        var root = new DirectoryInfo(AppContext.BaseDirectory);
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "PortalLinkWorker.sln")))
            root = root.Parent;
        var dir = Path.Combine(root?.FullName ?? Path.GetTempPath(), "TestResults", "screenshots");
        Directory.CreateDirectory(dir);
        return dir;
    }
}
