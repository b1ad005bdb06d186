using System.ComponentModel.DataAnnotations;

namespace PortalLinkWorker.Upflow;

/// <summary>Settings of the <c>Upflow</c> section: where Upflow is, the credentials, the rate budget and the retry bounds.
/// Ranges are checked by the attributes, the rest by <see cref="UpflowOptionsRules"/>.</summary>
public sealed class UpflowOptions
{
    public const string Section = "Upflow";

    /// <summary>Upflow's production API.</summary>
    public const string ProductionBaseUrl = "https://api.upflow.io/v1";

    /// <summary>Upflow's sandbox API.</summary>
    public const string SandboxBaseUrl = "https://api.sandbox.upflow.io/v1";

    /// <summary>Upflow's default link lifetime when a request names none: one day.</summary>
    public const int DefaultExpiresInSeconds = 86_400;

    /// <summary>API root, ending in <c>/v1</c>. Default: production. Sandbox: <see cref="SandboxBaseUrl"/>.</summary>
    [Required]
    public Uri BaseUrl { get; set; } = new(ProductionBaseUrl);

    /// <summary>Where Upflow's own portal lives by default. Upflow does not document the portal's host for API-issued
    /// links; its help pages show portal links on <c>app.upflow.io</c> (and white-labelled portals on the customer's own
    /// domain, which an operator adds here). <c>*.upflow.io</c> covers that host, the sandbox's and any other host Upflow
    /// serves from its own domain, and nothing anyone else controls.</summary>
    public const string DefaultPortalHosts = "*.upflow.io";

    /// <summary>The hosts a portal URL from Upflow may be on, comma-separated: <c>portal.example.com</c> for that host,
    /// <c>*.example.com</c> for any of its subdomains (one or more labels deep, not <c>example.com</c> itself). Default
    /// <see cref="DefaultPortalHosts"/>. A URL on any other host, not https, with user information or with a control
    /// character is never stored or published (<see cref="PortalUrlPolicy"/>): it would hand a bearer credential to
    /// whoever controls that host. Add the portal's custom domain here when the Upflow account uses one; the simulator's
    /// is <c>portal.upflow-simulator.invalid</c>.</summary>
    public string PortalHosts { get; set; } = DefaultPortalHosts;

    // A reference, replaced whole: readers on other threads never see half of it.
    private Tuple<string, PortalUrlPolicy>? _portalUrls;

    /// <summary><see cref="PortalHosts"/> as a policy, parsed once (validated at start, so it parses).</summary>
    internal PortalUrlPolicy PortalUrls
    {
        get
        {
            if (_portalUrls is { } cached && ReferenceEquals(cached.Item1, PortalHosts))
                return cached.Item2;
            if (!PortalUrlPolicy.TryParse(PortalHosts, out var policy))
                throw new InvalidOperationException("Upflow:PortalHosts is not a list of host names (environment variable Upflow__PortalHosts).");
            _portalUrls = Tuple.Create(PortalHosts, policy);
            return policy;
        }
    }

    /// <summary>Upflow's documentation says only that "the response will contain the URL"; <c>url</c> is what it is
    /// seen to send.</summary>
    public const string DefaultUrlField = "url";

    /// <summary>The field of Upflow's 2xx answer that carries the portal URL. Default <see cref="DefaultUrlField"/>. A plain
    /// JSON property name (letters, digits, <c>_</c> and <c>-</c>, at most 64 characters, not starting with a digit or
    /// <c>-</c>), matched case-sensitively at the top level of the answer. If Upflow ever renames the field, calls pause
    /// (nothing fails) and the status page names the fields that came: set this to the new name, no release needed.</summary>
    [Required(AllowEmptyStrings = false, ErrorMessage = "Upflow:UrlField is missing (environment variable Upflow__UrlField).")]
    [RegularExpression(UrlFieldPattern,
        ErrorMessage = "Upflow:UrlField must be a plain JSON property name: letters, digits, '_' and '-', at most 64 characters, not starting with a digit or '-' (environment variable Upflow__UrlField).")]
    public string UrlField { get; set; } = DefaultUrlField;

    /// <summary>What <see cref="UrlField"/> may be.</summary>
    internal const string UrlFieldPattern = "^[A-Za-z_][A-Za-z0-9_-]{0,63}$";

    /// <summary>Sent as <c>X-Api-Key</c>. Required.</summary>
    [Required(AllowEmptyStrings = false, ErrorMessage = "Upflow:ApiKey is missing (environment variable Upflow__ApiKey).")]
    public string ApiKey { get; set; } = "";

    /// <summary>Sent as <c>X-Api-Secret</c>. Required. Never logged.</summary>
    [Required(AllowEmptyStrings = false, ErrorMessage = "Upflow:ApiSecret is missing (environment variable Upflow__ApiSecret).")]
    public string ApiSecret { get; set; } = "";

    /// <summary>Largest <c>ExpiresIn</c> accepted, in seconds. Default 86,400,000 s = 1000 days, the longest validity
    /// Upflow's own settings offer.</summary>
    [Range(1, int.MaxValue)]
    public int MaxExpiresIn { get; set; } = 86_400_000;

    /// <summary>The most Upflow calls per second the whole fleet makes (the shared budget paces them evenly, and a 429
    /// makes it learn Upflow's real limit below this). Default 10 = Upflow's 600 per minute. 0 turns the limit off (for a
    /// simulator without limit).</summary>
    [Range(0, 100_000)]
    public double MaxRequestsPerSecond { get; set; } = 10;

    /// <summary>Upflow calls in flight at once for the whole fleet: every replica with the same account shares them
    /// (<see cref="UpflowCallSlots"/>, PostgreSQL session locks a dead process gives back at once). Default 5, Upflow's
    /// recommendation (its hard limit is 10).</summary>
    [Range(1, 1_000)]
    public int MaxConcurrentRequests { get; set; } = 5;

    /// <summary>Of <see cref="MaxConcurrentRequests"/>, the calls campaign (bulk) requests may never hold, so that a live
    /// request always finds a free slot. Default 1. Bulk requests get at least one slot whatever this says.</summary>
    [Range(0, 1_000)]
    public int ReservedLiveRequests { get; set; } = 1;

    /// <summary>Concurrency slots bulk requests may hold: <see cref="MaxConcurrentRequests"/> less the reserved ones, at least one.</summary>
    public int BulkConcurrentRequests => Math.Max(1, MaxConcurrentRequests - ReservedLiveRequests);

    /// <summary>Timeout of one HTTP attempt. Default 10 s.</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:10:00")]
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Longest time one request may spend on Upflow, retries and waits included, before it fails as
    /// <c>UpflowUnavailable</c>. Default 60 s; kept short because the message holds a consumer slot meanwhile.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:30:00")]
    public TimeSpan TotalTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Retries after the first attempt for 5xx, 408, 429, timeouts and connection errors. Default 6.</summary>
    [Range(0, 100)]
    public int MaxRetryAttempts { get; set; } = 6;

    /// <summary>First backoff delay; later ones grow exponentially with jitter. Default 500 ms.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:01:00")]
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>The most a <c>Retry-After</c> header may make the account pause. Default 60 s: Upflow's longest documented
    /// window is a minute (600 calls), whose reset can be a minute away; a server asking for an hour must not stop the
    /// worker for an hour. A pause longer than <see cref="MaxInMemoryWait"/> holds no consumer: the messages wait in the
    /// queue.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00")]
    public TimeSpan MaxRetryAfter { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>The lowest the adaptive rate goes after repeated 429s. Default 0.5 requests per second.</summary>
    [Range(0.01, 100_000)]
    public double MinRequestsPerSecond { get; set; } = 0.5;

    /// <summary>Where the rate settles after a 429, as a fraction of the rate Upflow was seen to admit (see
    /// <see cref="RateBudgetState"/>). Default 0.99: just below the limit, so that the next 429 is a minute or more away.</summary>
    [Range(0.5, 1)]
    public double LearnedRateMargin { get; set; } = 0.99;

    /// <summary>What the rate regains per <see cref="RateIncreaseInterval"/> without a 429, as a fraction of itself, up to
    /// <see cref="MaxRequestsPerSecond"/>. Default 0.01: about 6 % a minute, slow enough that probing for a higher limit
    /// costs one 429 a minute or less.</summary>
    [Range(0.001, 1)]
    public double RateIncreaseStep { get; set; } = 0.01;

    /// <summary>How long the rate stays where a 429 settled it before it starts to climb. Default 60 s: probing right
    /// away would meet the same limit again within seconds, and each 429 costs a pause.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan RateIncreaseDelay { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>How often the rate takes one step back up. Default 10 s.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "01:00:00")]
    public TimeSpan RateIncreaseInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How far ahead of its sending time a call's turn may be reserved in the shared budget, as seconds of the
    /// rate; a replica leases half of it at a time. Default 0.1 s (2 calls at 20/s): long enough to hide the round trip
    /// to the database, so calls leave evenly spaced. Calls never go in a burst, whatever this is: an idle budget saves
    /// up one call, so no one-second window sees more calls than the rate allows.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:00:10")]
    public TimeSpan BurstWindow { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Longest a message waits in memory for the budget or a pause to end. Beyond it the message goes back to the
    /// queue and consumption pauses: long waits in memory hold consumer slots (and, with MassTransit, can keep an
    /// endpoint from reconnecting after a broker restart). Default 10 s.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:05:00")]
    public TimeSpan MaxInMemoryWait { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Transient failures in a row, across different messages, that mean Upflow is down for everyone: consumption
    /// pauses instead of failing messages. Default 5.</summary>
    [Range(1, 1_000)]
    public int OutageFailureThreshold { get; set; } = 5;

    /// <summary>How often a paused worker asks Upflow whether it is back (outage, or a long 429 pause). Default 5 s.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:10:00")]
    public TimeSpan OutageProbeInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How often a worker paused on rejected credentials (401/403) tries them again. Default 30 s.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "01:00:00")]
    public TimeSpan CredentialsProbeInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How often a worker paused on an answer it could not read (a 2xx without a readable portal URL) tries one
    /// queued request again. Default 60 s: each try may make Upflow issue a link nobody can read, and the fix (a new
    /// <see cref="UrlField"/> or <see cref="PortalHosts"/>, or Upflow's) is an operator's, which no retry hurries.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "01:00:00")]
    public TimeSpan UnreadableAnswerProbeInterval { get; set; } = TimeSpan.FromSeconds(60);
}
