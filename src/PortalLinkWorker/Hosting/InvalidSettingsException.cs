namespace PortalLinkWorker.Hosting;

/// <summary>The settings are invalid: <see cref="Problems"/> has one line per bad or missing setting, without values.</summary>
public sealed class InvalidSettingsException(IReadOnlyList<string> problems)
    : Exception($"Invalid settings: {string.Join(" ", problems)}")
{
    public IReadOnlyList<string> Problems { get; } = problems;
}
