using System.Globalization;
using PortalLinkWorker.Campaigns;
using Spectre.Console;
using PortalLinkWorker.Persistence;

namespace PortalLinkWorker.Cli;

/// <summary>How <c>campaign status</c> and <c>--wait</c> show a campaign. On a terminal, Spectre.Console draws a live
/// progress bar and a table of counts. Anywhere else (a file, a pipe, CI, the tests) plain lines: a timestamped line now
/// and then, and a block of counts at the end, whose format scripts may read.</summary>
public static class CampaignProgressDisplay
{
    /// <summary>How often the bar is redrawn on a terminal, and a line written when the output is not a terminal.</summary>
    private static readonly TimeSpan TerminalRefresh = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan LogRefresh = TimeSpan.FromSeconds(10);

    /// <summary>True when <paramref name="output"/> is an interactive terminal Spectre.Console can draw on.</summary>
    public static bool IsTerminal(TextWriter output) =>
        ReferenceEquals(output, Console.Out) && !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive;

    /// <summary>The campaign once: a table on a terminal, the plain block otherwise.</summary>
    public static async Task ShowAsync(CampaignProgress progress, TextWriter output)
    {
        if (IsTerminal(output))
            AnsiConsole.Write(Table(progress));
        else
            await output.WriteLineAsync(Block(progress));
    }

    /// <summary>Shows the campaign until its run completes; the last progress read (null when there is no such campaign).</summary>
    public static async Task<CampaignProgress?> FollowAsync(Func<CancellationToken, Task<CampaignProgress?>> read, TextWriter output,
        CancellationToken cancellationToken)
    {
        if (IsTerminal(output))
            return await FollowOnTerminalAsync(read, cancellationToken);
        while (true)
        {
            var progress = await read(cancellationToken);
            if (progress is null)
                return null;
            await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"[{DateTimeOffset.Now:HH:mm:ss}] {Line(progress)}"));
            if (progress.IsCompleted)
            {
                await output.WriteLineAsync(Block(progress));
                return progress;
            }
            await Task.Delay(LogRefresh, cancellationToken);
        }
    }

    private static async Task<CampaignProgress?> FollowOnTerminalAsync(Func<CancellationToken, Task<CampaignProgress?>> read,
        CancellationToken cancellationToken)
    {
        CampaignProgress? progress = null;
        await AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new SpinnerColumn())
            .StartAsync(async context =>
            {
                var task = context.AddTask("reading the campaign", maxValue: 1);
                while ((progress = await read(cancellationToken)) is not null)
                {
                    task.MaxValue = Math.Max(1, progress.Total);
                    task.Value = progress.Total == 0 ? 1 : progress.Done;
                    // Escaped: a description is markup, and a campaign's name is the publisher's text.
                    task.Description = Markup.Escape(string.Create(CultureInfo.InvariantCulture,
                        $"{progress.Done}/{progress.Total}  generated {progress.Generated}  failed {progress.Failed}  {progress.Rate:0.0}/s  left {Duration(progress.EstimatedTimeLeft)}"));
                    if (progress.IsCompleted)
                    {
                        task.StopTask();
                        return;
                    }
                    await Task.Delay(TerminalRefresh, cancellationToken);
                }
            });
        if (progress is not null)
            AnsiConsole.Write(Table(progress));
        return progress;
    }

    /// <summary>The counts as a table (the same rows as <see cref="Block"/>). Cells are text, never markup.</summary>
    public static Table Table(CampaignProgress p)
    {
        var table = new Table
            {
                Title = new TableTitle(Markup.Escape($"campaign {p.CampaignId} '{p.Name}' (run {p.Run})")),
                Caption = new TableTitle(Markup.Escape(State(p))),
            }
            .AddColumn("").AddColumn(new TableColumn("").RightAligned()).AddColumn(new TableColumn("").RightAligned())
            .HideHeaders();
        void Row(string label, string value, string share) => table.AddRow(new Text(label), new Text(value), new Text(share));
        Row("total", Count(p.Total), "");
        Row("generated", Count(p.Generated), Percent(p.Generated, p.Total) + (p.Reused > 0 ? $"  ({p.Reused} reused, no Upflow call)" : ""));
        Row("failed", Count(p.Failed), Percent(p.Failed, p.Total));
        Row("pending", Count(p.Pending), Percent(p.Pending, p.Total) + (p.NotEnqueued > 0 ? $"  ({p.NotEnqueued} not yet on the queue)" : ""));
        Row("rate", p.Rate.ToString("0.0", CultureInfo.InvariantCulture) + "/s", "over the last minute");
        Row("time left", Duration(p.EstimatedTimeLeft), "");
        return table;
    }

    public static string Block(CampaignProgress p)
    {
        var lines = new List<string>
        {
            $"campaign {p.CampaignId} '{p.Name}' (run {p.Run})",
            $"  total      {p.Total,9}",
            $"  generated  {p.Generated,9}  {Percent(p.Generated, p.Total)}{(p.Reused > 0 ? $"  ({p.Reused} reused, no Upflow call)" : "")}",
            $"  failed     {p.Failed,9}  {Percent(p.Failed, p.Total)}",
            $"  pending    {p.Pending,9}  {Percent(p.Pending, p.Total)}{(p.NotEnqueued > 0 ? $"  ({p.NotEnqueued} not yet on the queue)" : "")}",
            $"  rate       {p.Rate.ToString("0.0", CultureInfo.InvariantCulture),9}/s over the last minute",
            $"  time left  {Duration(p.EstimatedTimeLeft),9}",
            $"  state      {State(p)}",
        };
        return string.Join(Environment.NewLine, lines);
    }

    /// <summary>One line of progress, for a log.</summary>
    public static string Line(CampaignProgress p)
    {
        var done = p.Total == 0 ? 1.0 : (double)p.Done / p.Total;
        return string.Create(CultureInfo.InvariantCulture,
            $"{done * 100,5:0.0} %  {p.Done}/{p.Total}  generated {p.Generated}  failed {p.Failed}  {p.Rate:0.0}/s  left {Duration(p.EstimatedTimeLeft)}");
    }

    public static string State(CampaignProgress p) => p switch
    {
        { CompletedAt: { } at, CompletionPublishedAt: { } published } =>
            $"completed at {at:u} (PortalLinkCampaignCompleted published at {published:u})",
        { CompletedAt: { } at } => $"completed at {at:u} (PortalLinkCampaignCompleted not published yet)",
        { EnqueuedAt: null } => "starting: items are being recorded and enqueued (or the start was interrupted: run it again)",
        _ => "running",
    };

    private static string Count(int n) => n.ToString(CultureInfo.InvariantCulture);

    private static string Percent(int part, int total) =>
        total == 0 ? "" : string.Create(CultureInfo.InvariantCulture, $"({100.0 * part / total:0.0} %)");

    public static string Duration(TimeSpan? span) => span switch
    {
        null => "-",
        { TotalHours: >= 1 } s => $"{(int)s.TotalHours}h{s.Minutes:00}m",
        { TotalMinutes: >= 1 } s => $"{(int)s.TotalMinutes}m{s.Seconds:00}s",
        var s => $"{(int)Math.Ceiling(s.Value.TotalSeconds)}s",
    };
}
