using PortalLinkWorker.Persistence;

namespace PortalLinkWorker.Campaigns;

/// <summary>One data row of a campaign CSV: the customer it names, or what is wrong with it.</summary>
/// <param name="Line">The line the row starts on (the header is line 1).</param>
/// <param name="Entry">The customer and its settings; null when <paramref name="Problem"/> is set.</param>
/// <param name="Problem">Why the row cannot be used; null when it can.</param>
public sealed record CampaignCsvRow(int Line, CampaignEntry? Entry, string? Problem);
