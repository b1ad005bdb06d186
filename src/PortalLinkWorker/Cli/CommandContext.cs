namespace PortalLinkWorker.Cli;

/// <summary>What every command's action reads besides its own arguments: where its report goes, and the worker's
/// settings given on the command line (<c>--Section:Key=value</c>), which override appsettings.json and the environment.</summary>
public sealed class CommandContext(TextWriter output)
{
    public TextWriter Output { get; } = output;

    public string[] Settings { get; internal set; } = [];
}
