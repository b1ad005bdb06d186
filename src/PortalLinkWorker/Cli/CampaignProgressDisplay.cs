using System.Globalization;
using PortalLinkWorker.Campaigns;
using PortalLinkWorker.Persistence;

namespace PortalLinkWorker.Cli;

/// <summary>How <c>campaign status</c> and <c>--wait</c> show a campaign: a block of counts, a live bar on a terminal,
/// a plain line now and then when the output is a file or a pipe.</summary>
public static class CampaignProgressDisplay
{
    private const int BarWidth = 30;

    public static string Block(CampaignProgress p)
    {
        var lines = new List<string>
        {
            $"campaign {p.CampaignId} '{p.Name}' (run {p.Run})",
            $"  total      {p.Total,9}",
            $"  generated  {p.Generated,9}  {Percent(p.Generated, p.Total)}",
            $"  failed     {p.Failed,9}  {Percent(p.Failed, p.Total)}",
            $"  pending    {p.Pending,9}  {Percent(p.Pending, p.Total)}{(p.NotEnqueued > 0 ? $"  ({p.NotEnqueued} not yet on the queue)" : "")}",
            $"  rate       {p.Rate.ToString("0.0", CultureInfo.InvariantCulture),9}/s over the last minute",
            $"  time left  {Duration(p.EstimatedTimeLeft),9}",
            $"  state      {State(p)}",
        };
        return string.Join(Environment.NewLine, lines);
    }

    /// <summary>One line, for a terminal (redrawn in place) or a log.</summary>
    public static string Line(CampaignProgress p, bool bar)
    {
        var done = p.Total == 0 ? 1.0 : (double)p.Done / p.Total;
        var filled = (int)Math.Round(done * BarWidth);
        var prefix = bar ? $"[{new string('#', filled)}{new string('-', BarWidth - filled)}] " : "";
        return string.Create(CultureInfo.InvariantCulture,
            $"{prefix}{done * 100,5:0.0} %  {p.Done}/{p.Total}  generated {p.Generated}  failed {p.Failed}  {p.Rate:0.0}/s  left {Duration(p.EstimatedTimeLeft)}");
    }

    public static string State(CampaignProgress p) => p switch
    {
        { CompletedAt: { } at, CompletionPublishedAt: { } published } =>
            $"completed at {at:u} (PortalLinkCampaignCompleted published at {published:u})",
        { CompletedAt: { } at } => $"completed at {at:u} (PortalLinkCampaignCompleted not published yet)",
        { EnqueuedAt: null } => "starting: items are being recorded and enqueued (or the start was interrupted: run it again)",
        _ => "running",
    };

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
