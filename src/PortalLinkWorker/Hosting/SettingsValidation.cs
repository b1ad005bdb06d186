using Microsoft.Extensions.Options;

namespace PortalLinkWorker.Hosting;

/// <summary>
/// Every section of <see cref="PortalLinkOptionSections.All"/> checked at once, before the worker starts, so that an
/// operator sees every bad or missing setting in one go: one line each, naming the setting and its environment
/// variable, never its value (a connection string or a secret may be the value).
/// </summary>
public static class SettingsValidation
{
    /// <summary>Validates every section of <paramref name="configuration"/> on a service provider of its own (the host's
    /// would stop at the first section something resolves while it is built).</summary>
    /// <exception cref="InvalidSettingsException">with every problem found.</exception>
    public static void ThrowIfInvalid(IConfiguration configuration)
    {
        using var services = new ServiceCollection().AddSingleton(configuration).AddPortalLinkOptions().BuildServiceProvider();
        if (Problems(services, configuration) is { Count: > 0 } problems)
            throw new InvalidSettingsException(problems);
    }

    /// <summary>All problems of all sections; empty when the settings are valid.</summary>
    public static IReadOnlyList<string> Problems(IServiceProvider services, IConfiguration configuration) =>
        [.. PortalLinkOptionSections.All.SelectMany(s => s.Read(services, configuration).Problems)];

    /// <summary>The settings problems an exception stands for (one the host threw while starting, say), or null when it is
    /// about something else. The binder's own message may quote the value, so it is never shown.</summary>
    public static IReadOnlyList<string>? Describe(Exception e) => e switch
    {
        InvalidSettingsException invalid => invalid.Problems,
        OptionsValidationException invalid when PortalLinkOptionSections.Of(invalid.OptionsType) is { } section =>
            [.. invalid.Failures.Select(section.Describe)],
        OptionsValidationException invalid => [.. invalid.Failures],
        // A command that binds a section without checking it first (the worker's start checks every one): the binder's
        // message names the key but may quote the value.
        InvalidOperationException { Source: "Microsoft.Extensions.Configuration.Binder" } =>
            ["A setting does not convert to its type (run `PortalLinkWorker check-config` to see which; the value is not shown)."],
        AggregateException many when many.InnerExceptions.Select(Describe).ToList() is var each && each.All(p => p is not null) =>
            [.. each.SelectMany(p => p!)],
        _ => null,
    };
}
