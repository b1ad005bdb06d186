namespace PortalLinkWorker.TestKit;

/// <summary>The checkout a test or benchmark runs from, and the build outputs in it.</summary>
public static class RepositoryRoot
{
    public const string SolutionFile = "PortalLinkWorker.sln";

    /// <summary>The folder holding <see cref="SolutionFile"/>: above this program's own build output first (the checkout
    /// it was built from), then above the current directory; the current directory if neither has one.</summary>
    public static string Find()
    {
        foreach (var start in new[] { AppContext.BaseDirectory, Directory.GetCurrentDirectory() })
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, SolutionFile)))
                    return dir.FullName;
        return Directory.GetCurrentDirectory();
    }

    /// <summary>The configuration this program was built in: it runs from <c>…/bin/&lt;Configuration&gt;/net10.0/</c>,
    /// and the worker and the simulator were built beside it in the same one.</summary>
    public static string BuildConfiguration => new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name;

    /// <summary>The built worker of this checkout; fails with what to do when it has not been built.</summary>
    public static string WorkerDll => BuiltDll("PortalLinkWorker");

    /// <summary>The built Upflow simulator of this checkout.</summary>
    public static string SimulatorDll => BuiltDll("UpflowSimulator");

    private static string BuiltDll(string project)
    {
        var dll = Path.Combine(Find(), "src", project, "bin", BuildConfiguration, "net10.0", project + ".dll");
        return File.Exists(dll)
            ? dll
            : throw new FileNotFoundException($"Build the solution first (dotnet build -c {BuildConfiguration}): {project}.dll is missing.", dll);
    }
}
