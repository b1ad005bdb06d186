namespace PortalLinkWorker.Campaigns;

/// <summary>A campaign CSV record longer than <see cref="CampaignCsvReader.MaxRecordLength"/> characters: the file is
/// refused at that line (a customer id is at most 256 characters; such a record is a broken quote or not a campaign).</summary>
public sealed class CampaignCsvRecordTooLongException(int line, int maxLength)
    : Exception($"The record starting on line {line} is longer than {maxLength:N0} characters (an unclosed quote?); the file is not read further.")
{
    public int Line { get; } = line;
}
