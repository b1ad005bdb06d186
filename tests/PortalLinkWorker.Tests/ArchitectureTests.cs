using System.Reflection;
using System.Text.RegularExpressions;
using NetArchTest.Rules;
using PortalLinkWorker.Links;

namespace PortalLinkWorker.Tests;

/// <summary>
/// Dependencies run one way: a folder of src/PortalLinkWorker uses only the folders below it, so the folder list is the
/// architecture. Two checks, because each misses what the other sees: the compiled code (NetArchTest reads every type,
/// signature and method body) catches a type used under its full name, and the source catches a <c>using</c> or a
/// constant, which leave no trace in the compiled code.
/// </summary>
[Trait("Category", "Unit")]
public sealed partial class ArchitectureTests
{
    /// <summary>Lowest first. A folder may use the folders of lower levels only; folders of one level not each other.
    /// PortalLinkContracts (its own assembly) sits below all of them.</summary>
    private static readonly string[][] Levels =
    [
        // Small types every layer may share: untrusted input, the meter's name, the broker's address.
        ["Input", "Telemetry", "Messaging"],
        // The Upflow client and its pace; it owns the interfaces of its stores (IRateBudgetStore, IUpflowSlotLocks).
        ["Upflow"],
        // Every SQL statement, the EF Core model and migrations.
        ["Persistence"],
        // The flows: a campaign is made of link requests, so Campaigns uses Links and not the other way round.
        ["Links"],
        ["Campaigns"],
        // What operators look at: health, status, checks.
        ["Operations"],
        // Wiring only.
        ["Hosting"],
        ["Cli"],
    ];

    /// <summary>Types of Hosting that lower folders still use until the options move lands (issue 14, item 3: every
    /// option class goes next to what it configures, the registry replaces SettingsValidation). Remove each entry
    /// when its type has moved.</summary>
    private static readonly string[] PendingOptionsMove =
    [
    ];

    /// <summary>The source files that name Hosting (for the types above, or a constant of PortalLinkWorkerHost) until the
    /// options move lands. Remove each line when its file no longer needs it.</summary>
    private static readonly string[] PendingOptionsMoveFiles =
    [
    ];

    private const string Root = "PortalLinkWorker";

    private static readonly Assembly Worker = typeof(PortalLinkRequestHandler).Assembly;

    [Fact]
    public void CompiledCode_EachFolderUsesOnlyTheFoldersBelowIt()
    {
        var violations = new List<string>();
        foreach (var folder in Levels.SelectMany(level => level))
            foreach (var forbidden in Forbidden(folder))
            {
                var targets = Worker.GetTypes()
                    .Where(t => !t.IsNested && t.Namespace is { } ns && InFolder(ns, forbidden) && !PendingOptionsMove.Contains(t.FullName))
                    .Select(t => t.FullName!)
                    .ToArray();
                if (targets.Length == 0)
                    continue;
                var result = Types.InAssembly(Worker).That().ResideInNamespace($"{Root}.{folder}")
                    .ShouldNot().HaveDependencyOnAny(targets).GetResult();
                if (!result.IsSuccessful)
                    violations.AddRange(result.FailingTypeNames.Select(type => $"{type} uses {forbidden}"));
            }
        Assert.True(violations.Count == 0, "Dependencies against the one-way order:\n  " + string.Join("\n  ", violations.Distinct()));
    }

    [Fact]
    public void CompiledCode_ContractsUseNothingOfTheWorker() =>
        Assert.True(Types.InAssembly(typeof(PortalLinkContracts.GeneratePortalLink).Assembly)
            .ShouldNot().HaveDependencyOn(Root).GetResult().IsSuccessful);

    [Fact]
    public void Source_UsingsAndQualifiedNames_PointOnlyDown()
    {
        var violations = new List<string>();
        foreach (var (path, folder) in SourceFiles())
        {
            if (folder is null)
                continue; // Program.cs may use everything.
            var allowed = Levels.SelectMany(level => level).Except(Forbidden(folder)).Append(folder).ToHashSet();
            if (PendingOptionsMoveFiles.Contains(Relative(path)))
                allowed.Add("Hosting");
            var code = Code(File.ReadAllText(path));
            foreach (var used in NamedFolders(code).Where(used => !allowed.Contains(used)).Distinct())
                violations.Add($"{Relative(path)} ({folder}) names {used}");
        }
        Assert.True(violations.Count == 0, "Source against the one-way order:\n  " + string.Join("\n  ", violations));
    }

    [Fact]
    public void Source_EveryFolderHasALevel_AndNamespaceIsFolder()
    {
        var problems = new List<string>();
        var known = Levels.SelectMany(level => level).ToHashSet();
        foreach (var (path, folder) in SourceFiles())
        {
            var relative = Relative(path);
            var directory = Path.GetDirectoryName(relative)!.Replace('\\', '/');
            var declared = NamespaceLine().Match(File.ReadAllText(path));
            if (folder is null)
            {
                if (declared.Success)
                    problems.Add($"{relative}: the root holds Program.cs only, without a namespace");
                continue;
            }
            if (!known.Contains(folder))
                problems.Add($"{relative}: folder {folder} has no level in {nameof(Levels)}");
            var expected = $"{Root}.{directory.Replace('/', '.')}";
            if (!declared.Success || declared.Groups[1].Value != expected)
                problems.Add($"{relative}: namespace {(declared.Success ? declared.Groups[1].Value : "(none)")}, expected {expected}");
        }
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    /// <summary>The folders <paramref name="folder"/> must not use: its own level's others and every level above.</summary>
    private static IEnumerable<string> Forbidden(string folder)
    {
        var level = Array.FindIndex(Levels, l => l.Contains(folder));
        return Levels.Skip(level + 1).SelectMany(l => l).Concat(Levels[level].Where(f => f != folder));
    }

    private static bool InFolder(string ns, string folder) => ns == $"{Root}.{folder}" || ns.StartsWith($"{Root}.{folder}.", StringComparison.Ordinal);

    /// <summary>Folders a file names: <c>using PortalLinkWorker.X</c>, <c>PortalLinkWorker.X.Type</c>, or <c>X.Type</c>
    /// (inside the worker's namespace, a sibling folder's name qualifies a type). Not after a dot: <c>db.Campaigns</c> is a
    /// property.</summary>
    private static IEnumerable<string> NamedFolders(string code)
    {
        var known = Levels.SelectMany(level => level).ToHashSet();
        foreach (var m in UsingLine().Matches(code).Concat(QualifiedName().Matches(code)))
            if (known.Contains(m.Groups[1].Value))
                yield return m.Groups[1].Value;
    }

    /// <summary>The code without comments and string literals, where folder names appear as words.</summary>
    private static string Code(string source)
    {
        var noComments = LineComment().Replace(source, "");
        return StringLiteral().Replace(noComments, "\"\"");
    }

    private static IEnumerable<(string Path, string? Folder)> SourceFiles()
    {
        var src = Path.Combine(RepositoryRoot(), "src", Root);
        foreach (var path in Directory.EnumerateFiles(src, "*.cs", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(src, path).Replace('\\', '/');
            if (relative.StartsWith("obj/", StringComparison.Ordinal) || relative.StartsWith("bin/", StringComparison.Ordinal))
                continue;
            var slash = relative.IndexOf('/');
            yield return (path, slash < 0 ? null : relative[..slash]);
        }
    }

    private static string Relative(string path) =>
        Path.GetRelativePath(Path.Combine(RepositoryRoot(), "src", Root), path).Replace('\\', '/');

    private static string RepositoryRoot()
    {
        var root = new DirectoryInfo(AppContext.BaseDirectory);
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "PortalLinkWorker.sln")))
            root = root.Parent;
        return root?.FullName ?? throw new InvalidOperationException("PortalLinkWorker.sln not found above the test's directory.");
    }

    [GeneratedRegex(@"(?<![\w.])(?:PortalLinkWorker\.)?([A-Z]\w*)\.[A-Z]\w*")]
    private static partial Regex QualifiedName();

    [GeneratedRegex(@"^\s*using\s+(?:static\s+)?(?:\w+\s*=\s*)?PortalLinkWorker\.(\w+)", RegexOptions.Multiline)]
    private static partial Regex UsingLine();

    [GeneratedRegex(@"//.*$", RegexOptions.Multiline)]
    private static partial Regex LineComment();

    [GeneratedRegex(@"@?\$?""""""[\s\S]*?""""""|@""(?:[^""]|"""")*""|\$?""(?:[^""\\\n]|\\.)*""")]
    private static partial Regex StringLiteral();

    [GeneratedRegex(@"^namespace\s+([\w.]+)", RegexOptions.Multiline)]
    private static partial Regex NamespaceLine();
}
