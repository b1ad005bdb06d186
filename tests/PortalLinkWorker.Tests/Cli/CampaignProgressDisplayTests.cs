using PortalLinkWorker.Persistence;
using PortalLinkWorker.Campaigns;
using PortalLinkWorker.Cli;
using Spectre.Console;

namespace PortalLinkWorker.Tests.Cli;

[Trait("Category", "Unit")]
public sealed class CampaignProgressDisplayTests
{
    private static CampaignProgress Progress(string name, DateTimeOffset? completedAt = null) =>
        new(Guid.Parse("5d0c6a5e-9a39-4a53-8c3e-1f0f6c1f2a11"), name, Total: 10, Pending: 4, Generated: 5, Failed: 1, NotEnqueued: 0, Run: 1,
            CreatedAt: DateTimeOffset.UnixEpoch, EnqueuedAt: DateTimeOffset.UnixEpoch, CompletedAt: completedAt, CompletionPublishedAt: null,
            FinishedLastMinute: 6, LastMinuteSpanSeconds: 60);

    [Fact]
    public async Task NotATerminal_PlainLines_TimestampedProgressThenTheBlock()
    {
        var output = new StringWriter();
        var reads = new Queue<CampaignProgress>([Progress("plain", DateTimeOffset.UnixEpoch)]);

        var last = await CampaignProgressDisplay.FollowAsync(_ => Task.FromResult<CampaignProgress?>(reads.Dequeue()), output, CancellationToken.None);

        Assert.NotNull(last);
        var lines = output.ToString().Split(Environment.NewLine);
        Assert.Matches(@"^\[\d\d:\d\d:\d\d\]  60\.0 %  6/10  generated 5  failed 1  0\.1/s  left 40s$", lines[0]);
        Assert.Equal("campaign 5d0c6a5e-9a39-4a53-8c3e-1f0f6c1f2a11 'plain' (run 1)", lines[1]);
        Assert.Matches(@"^  generated\s+5  \(50\.0 %\)$", lines[3]);
        Assert.DoesNotContain("\u001b", output.ToString());
    }

    [Fact]
    public async Task NoSuchCampaign_Null()
    {
        var output = new StringWriter();
        Assert.Null(await CampaignProgressDisplay.FollowAsync(_ => Task.FromResult<CampaignProgress?>(null), output, CancellationToken.None));
        Assert.Equal("", output.ToString());
    }

    [Fact]
    public void Table_SameCounts_NameShownAsText_NotMarkup()
    {
        var output = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(output), Ansi = AnsiSupport.No, ColorSystem = ColorSystemSupport.NoColors,
        });

        console.Write(CampaignProgressDisplay.Table(Progress("[red]spring[/]")));

        var text = output.ToString();
        Assert.Contains("'[red]spring[/]'", text);
        Assert.Matches(@"generated\s*│\s*5\s*│\s*\(50\.0 %\)", text);
        Assert.Matches(@"failed\s*│\s*1\s*│\s*\(10\.0 %\)", text);
        Assert.Contains("running", text);
    }
}
