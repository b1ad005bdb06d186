using Microsoft.Extensions.Options;

namespace PortalLinkWorker.Upflow;

/// <summary>The rules of <see cref="UpflowOptions"/> that a range cannot say: the URL's shape, the host list's syntax,
/// and how the timeouts relate. Messages name the setting, never its value.</summary>
internal sealed class UpflowOptionsRules : IValidateOptions<UpflowOptions>
{
    public ValidateOptionsResult Validate(string? name, UpflowOptions options)
    {
        var problems = new List<string>();
        var baseUrl = options.BaseUrl;
        if (baseUrl is not null && (!baseUrl.IsAbsoluteUri || baseUrl.Scheme is not ("https" or "http") || baseUrl.Query.Length > 0 || baseUrl.Fragment.Length > 0))
            problems.Add($"Upflow:BaseUrl must be an absolute http(s) URL without query or fragment, such as {UpflowOptions.ProductionBaseUrl} (environment variable Upflow__BaseUrl).");
        if (!PortalUrlPolicy.TryParse(options.PortalHosts, out _))
            problems.Add($"Upflow:PortalHosts must be a comma-separated list of host names, each one optionally starting with '*.' for its subdomains (at least two labels after it), such as {UpflowOptions.DefaultPortalHosts} (environment variable Upflow__PortalHosts).");
        // One attempt longer than the whole request's budget would never be cut by its own timeout: the total one would.
        if (options.AttemptTimeout > options.TotalTimeout)
            problems.Add("Upflow:AttemptTimeout must not be longer than Upflow:TotalTimeout (environment variables Upflow__AttemptTimeout, Upflow__TotalTimeout).");
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}
