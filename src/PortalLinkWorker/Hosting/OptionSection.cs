using System.ComponentModel;
using System.Reflection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace PortalLinkWorker.Hosting;

/// <summary>One section of settings: the name it is read from, the options type it binds to, and the validators that
/// check it. <see cref="PortalLinkOptionSections.All"/> lists them; binding, the check at start and <c>check-config</c>
/// all read that one list.</summary>
public abstract class OptionSection(string name, Type type)
{
    /// <summary>The configuration section, e.g. <c>Upflow</c>.</summary>
    public string Name { get; } = name;

    /// <summary>The options type the section binds to.</summary>
    public Type Type { get; } = type;

    /// <summary>The settings of the section an operator can set: the options type's public writable properties.</summary>
    public IReadOnlyList<PropertyInfo> Settings { get; } =
        [.. type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite)];

    /// <summary>Binds the section, registers its validators and has it validated when the host starts.</summary>
    public abstract void Register(IServiceCollection services);

    /// <summary>The section bound and validated as the worker's start does it, or null and every problem found.</summary>
    public abstract (object? Value, IReadOnlyList<string> Problems) Read(IServiceProvider services, IConfiguration configuration);

    /// <summary>The section bound without validation (for printing), its defaults when a value cannot be bound.</summary>
    public abstract object Unvalidated(IConfiguration configuration);

    /// <summary>One failure of a validator of this section as an operator reads it (see <see cref="OptionSection{TOptions}"/>).</summary>
    public abstract string Describe(string failure);

    /// <summary>The key an operator sets, and its environment variable.</summary>
    protected string Key(string setting) => $"{Name}:{setting}";

    protected static string EnvironmentVariable(string key) => key.Replace(":", "__", StringComparison.Ordinal);

    /// <summary>Settings whose text does not convert to their type. The configuration binder would throw on the first
    /// one, with the value in its message; converting each with the same type converters finds them all, by name.</summary>
    protected IReadOnlyList<string> Unconvertible(IConfiguration configuration, out IConfiguration convertible)
    {
        var section = configuration.GetSection(Name);
        var problems = new List<string>();
        var unconvertible = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var setting in Settings)
        {
            var type = Nullable.GetUnderlyingType(setting.PropertyType) ?? setting.PropertyType;
            if (type == typeof(string) || section[setting.Name] is not { Length: > 0 } text)
                continue;
            try
            {
                _ = TypeDescriptor.GetConverter(type).ConvertFromInvariantString(text);
            }
            catch (Exception e) when (e is FormatException or ArgumentException or OverflowException or NotSupportedException or InvalidOperationException)
            {
                var key = Key(setting.Name);
                unconvertible.Add(key);
                problems.Add($"{key} is not a valid {Friendly(type)} (environment variable {EnvironmentVariable(key)}; the value is not shown).");
            }
        }
        convertible = problems.Count == 0 ? configuration : new ConfigurationBuilder().AddInMemoryCollection(
            section.AsEnumerable().Where(kv => !unconvertible.Contains(kv.Key))).Build();
        return problems;
    }

    private static string Friendly(Type type) =>
        type == typeof(TimeSpan) ? "duration (hh:mm:ss)"
        : type == typeof(int) || type == typeof(long) ? "whole number"
        : type == typeof(double) ? "number"
        : type == typeof(bool) ? "boolean (true/false)"
        : type == typeof(Uri) ? "URL"
        : type.Name;

    /// <summary>A section bound to <typeparamref name="TOptions"/>; <c>Validators</c> are added with <see cref="OptionSection{TOptions}.ValidatedBy{TValidator}"/>.</summary>
    public static OptionSection<TOptions> For<TOptions>(string name) where TOptions : class, new() => new(name, []);
}

/// <summary>
/// A section bound to <typeparamref name="TOptions"/>. Its validators are the options source generator's (the data
/// annotations on <typeparamref name="TOptions"/>, checked without reflection) and rules across settings written as
/// <see cref="IValidateOptions{TOptions}"/>. The generator reports a failing member as "<c>Member: The field
/// TypeName.Member must …</c>" (it names the type, not the section); <see cref="Describe"/> puts the operator's key and
/// its environment variable in their place. Rules written here already name their keys and pass through unchanged.
/// </summary>
public sealed class OptionSection<TOptions> : OptionSection where TOptions : class, new()
{
    private readonly IReadOnlyList<Type> _validators;

    internal OptionSection(string name, IReadOnlyList<Type> validators) : base(name, typeof(TOptions)) => _validators = validators;

    /// <summary>This section, also checked by <typeparamref name="TValidator"/>.</summary>
    public OptionSection<TOptions> ValidatedBy<TValidator>() where TValidator : class, IValidateOptions<TOptions> =>
        new(Name, [.. _validators, typeof(TValidator)]);

    public override void Register(IServiceCollection services)
    {
        services.AddOptions<TOptions>().BindConfiguration(Name).ValidateOnStart();
        foreach (var validator in _validators)
            services.TryAddEnumerable(ServiceDescriptor.Singleton(typeof(IValidateOptions<TOptions>), validator));
    }

    public override (object? Value, IReadOnlyList<string> Problems) Read(IServiceProvider services, IConfiguration configuration)
    {
        if (Unconvertible(configuration, out var convertible) is { Count: > 0 } unconvertible)
        {
            // The binder would stop at the first of them: the rest of the section is still checked, without them.
            var rest = new TOptions();
            convertible.GetSection(Name).Bind(rest);
            var failures = services.GetServices<IValidateOptions<TOptions>>().Select(v => v.Validate(Options.DefaultName, rest))
                .Where(r => r.Failed).SelectMany(r => r.Failures ?? []);
            return (null, [.. unconvertible, .. failures.Select(Describe)]);
        }
        try
        {
            return (services.GetRequiredService<IOptions<TOptions>>().Value, []);
        }
        catch (OptionsValidationException e)
        {
            return (null, [.. e.Failures.Select(Describe)]);
        }
    }

    public override object Unvalidated(IConfiguration configuration)
    {
        try
        {
            return configuration.GetSection(Name).Get<TOptions>() ?? new TOptions();
        }
        catch (InvalidOperationException)
        {
            return new TOptions();
        }
    }

    public override string Describe(string failure)
    {
        var setting = Settings.FirstOrDefault(s => failure.StartsWith(s.Name + ": ", StringComparison.Ordinal))?.Name;
        if (setting is null)
            return failure;
        var key = Key(setting);
        var message = failure[(setting.Length + 2)..].Replace($"{typeof(TOptions).Name}.{setting}", key, StringComparison.Ordinal);
        if (message.StartsWith($"The field {key} ", StringComparison.Ordinal))
            message = key + message["The field ".Length..][key.Length..];
        if (!message.Contains(key, StringComparison.Ordinal))
            message = $"{key}: {message}";
        return message.Contains("environment variable", StringComparison.Ordinal)
            ? message
            : $"{message.TrimEnd('.')} (environment variable {EnvironmentVariable(key)}).";
    }
}
