using Microsoft.Extensions.Options;
using PortalLinkWorker.Campaigns;
using PortalLinkWorker.Links;
using PortalLinkWorker.Operations;
using PortalLinkWorker.Persistence;
using PortalLinkWorker.Upflow;

namespace PortalLinkWorker.Hosting;

/// <summary>Every section of settings the worker reads, once: <see cref="PortalLinkWorkerServiceExtensions.AddPortalLinkOptions"/>
/// binds and validates them from this list, <see cref="SettingsValidation"/> checks them all before the worker starts,
/// and <c>check-config</c> prints and checks the same list. A new options class is added here, or it is neither bound
/// nor checked.</summary>
public static class PortalLinkOptionSections
{
    public static readonly IReadOnlyList<OptionSection> All =
    [
        OptionSection.For<ConnectionOptions>(ConnectionOptions.Section).ValidatedBy<ConnectionOptionsValidator>().ValidatedBy<ConnectionOptionsRules>(),
        OptionSection.For<UpflowOptions>(UpflowOptions.Section).ValidatedBy<UpflowOptionsValidator>().ValidatedBy<UpflowOptionsRules>(),
        OptionSection.For<ConsumerOptions>(ConsumerOptions.Section).ValidatedBy<ConsumerOptionsValidator>(),
        OptionSection.For<DatabaseOptions>(DatabaseOptions.Section).ValidatedBy<DatabaseOptionsValidator>(),
        // The same section as DatabaseOptions; apart so that a missing key is refused where the key ring is made.
        OptionSection.For<UrlKeyOptions>(UrlKeyOptions.Section).ValidatedBy<UrlKeyOptionsValidator>(),
        OptionSection.For<LoggingOptions>(LoggingOptions.Section).ValidatedBy<LoggingOptionsValidator>(),
        OptionSection.For<TelemetryOptions>(TelemetryOptions.Section),
        OptionSection.For<CampaignOptions>(CampaignOptions.Section).ValidatedBy<CampaignOptionsValidator>(),
        OptionSection.For<OperationsOptions>(OperationsOptions.Section).ValidatedBy<OperationsOptionsValidator>(),
    ];

    /// <summary>The section <paramref name="type"/> binds to, if it is one of <see cref="All"/>.</summary>
    public static OptionSection? Of(Type? type) => All.FirstOrDefault(s => s.Type == type);
}

// The options source generator writes these validators from the data annotations of each options class.
[OptionsValidator] internal sealed partial class ConnectionOptionsValidator : IValidateOptions<ConnectionOptions>;
[OptionsValidator] internal sealed partial class UpflowOptionsValidator : IValidateOptions<UpflowOptions>;
[OptionsValidator] internal sealed partial class ConsumerOptionsValidator : IValidateOptions<ConsumerOptions>;
[OptionsValidator] internal sealed partial class DatabaseOptionsValidator : IValidateOptions<DatabaseOptions>;
[OptionsValidator] internal sealed partial class LoggingOptionsValidator : IValidateOptions<LoggingOptions>;
[OptionsValidator] internal sealed partial class CampaignOptionsValidator : IValidateOptions<CampaignOptions>;
[OptionsValidator] internal sealed partial class OperationsOptionsValidator : IValidateOptions<OperationsOptions>;
