namespace UpflowSimulator;

/// <summary>Checks the <c>frameAncestors</c> value: DNS host names separated by single spaces.</summary>
internal static class HostNames
{
    private const int MaxNameLength = 253;
    private const int MaxLabelLength = 63;

    public static bool IsSpaceSeparatedList(string value) =>
        value.Length > 0 && value.Split(' ').All(IsHostName);

    public static bool IsHostName(string name) =>
        name.Length is > 0 and <= MaxNameLength && name.Split('.').All(IsLabel);

    private static bool IsLabel(string label) =>
        label.Length is > 0 and <= MaxLabelLength
        && label[0] != '-'
        && label[^1] != '-'
        && label.All(c => char.IsAsciiLetterOrDigit(c) || c == '-');
}
