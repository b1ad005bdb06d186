using System.Reflection;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;
using PortalLinkWorker.Persistence;
using PortalLinkWorker.Upflow;

namespace PortalLinkWorker.Hosting;

/// <summary>
/// Every section of settings checked at once, before the worker starts, so that an operator sees every bad or missing
/// setting in one go: one line each, naming the setting and its environment variable, never its value (a connection
/// string or a secret may be the value).
/// </summary>
public static partial class SettingsValidation
{
    /// <summary>The validated sections and the type each binds to.</summary>
    public static readonly IReadOnlyList<(string Section, Type Type)> Sections =
    [
        (ConnectionOptions.Section, typeof(ConnectionOptions)),
        (UpflowOptions.Section, typeof(UpflowOptions)),
        (ConsumerOptions.Section, typeof(ConsumerOptions)),
        (DatabaseOptions.Section, typeof(DatabaseOptions)),
        (LoggingOptions.Section, typeof(LoggingOptions)),
        (TelemetryOptions.Section, typeof(TelemetryOptions)),
        (Campaigns.CampaignOptions.Section, typeof(Campaigns.CampaignOptions)),
        (OperationsOptions.Section, typeof(OperationsOptions)),
    ];

    /// <summary>Validates every section of <paramref name="configuration"/> on a service provider of its own (the host's
    /// would stop at the first section something resolves while it is built).</summary>
    /// <exception cref="InvalidSettingsException">with every problem found.</exception>
    public static void ThrowIfInvalid(IConfiguration configuration)
    {
        using var services = new ServiceCollection().AddSingleton(configuration).AddPortalLinkOptions().BuildServiceProvider();
        if (Problems(services) is { Count: > 0 } problems)
            throw new InvalidSettingsException(problems);
    }

    /// <summary>All problems of all sections; empty when the settings are valid.</summary>
    public static IReadOnlyList<string> Problems(IServiceProvider services) =>
        [.. Sections.SelectMany(s => Validate(services, s.Section, s.Type).Problems)];

    /// <summary>The bound section (null when it could not be bound) and its problems.</summary>
    public static (object? Value, IReadOnlyList<string> Problems) Validate(IServiceProvider services, string section, Type type)
    {
        try
        {
            // IOptions<T>.Value binds and validates exactly as the worker's start does.
            var options = services.GetRequiredService(typeof(IOptions<>).MakeGenericType(type));
            return (options.GetType().GetProperty(nameof(IOptions<object>.Value))!.GetValue(options), []);
        }
        catch (TargetInvocationException e) when (e.InnerException is not null && Describe(e.InnerException, section) is { } problems)
        {
            return (null, problems);
        }
    }

    /// <summary>The settings problems an exception stands for, or null when it is about something else.</summary>
    public static IReadOnlyList<string>? Describe(Exception e, string? section = null) => e switch
    {
        InvalidSettingsException invalid => invalid.Problems,
        OptionsValidationException invalid => [.. invalid.Failures.Select(f => Normalize(f, section ?? SectionOf(invalid.OptionsType)))],
        InvalidOperationException when ConversionFailure().Match(e.Message) is { Success: true } match =>
            [$"{match.Groups["key"].Value} is not a valid {Friendly(match.Groups["type"].Value)} (environment variable {match.Groups["key"].Value.Replace(":", "__")}; the value is not shown)."],
        AggregateException many when many.InnerExceptions.Select(inner => Describe(inner, section)).ToList() is var each && each.All(p => p is not null) =>
            [.. each.SelectMany(p => p!)],
        _ => null,
    };

    /// <summary>"DataAnnotation validation failed for 'ConsumerOptions' members: 'PrefetchCount' with the error: 'The field
    /// PrefetchCount must be between 1 and 10000.'." → "Consumer:PrefetchCount must be between 1 and 10000 (environment
    /// variable Consumer__PrefetchCount)."</summary>
    internal static string Normalize(string failure, string? section)
    {
        var match = DataAnnotationFailure().Match(failure);
        if (!match.Success)
            return failure;
        var member = match.Groups["member"].Value;
        var message = match.Groups["message"].Value;
        if (section is null || message.Contains(section + ":", StringComparison.Ordinal))
            return message;
        var key = $"{section}:{member}";
        message = message.StartsWith($"The field {member} ", StringComparison.Ordinal)
            ? key + message[$"The field {member}".Length..].TrimEnd('.')
            : $"{key}: {message.TrimEnd('.')}";
        return $"{message} (environment variable {key.Replace(":", "__")}).";
    }

    private static string? SectionOf(Type? type) => Sections.FirstOrDefault(s => s.Type == type).Section;

    private static string Friendly(string type) => type switch
    {
        "System.TimeSpan" => "duration (hh:mm:ss)",
        "System.Int32" or "System.Int64" => "whole number",
        "System.Double" => "number",
        "System.Boolean" => "boolean (true/false)",
        "System.Uri" => "URL",
        _ => type,
    };

    [GeneratedRegex(@"^DataAnnotation validation failed for '[^']*' members: '(?<member>[^']*)' with the error: '(?<message>.*)'\.?$", RegexOptions.Singleline)]
    private static partial Regex DataAnnotationFailure();

    [GeneratedRegex(@"Failed to convert configuration value (?:'.*' )?at '(?<key>[^']+)' to type '(?<type>[^']+)'", RegexOptions.Singleline)]
    private static partial Regex ConversionFailure();
}
