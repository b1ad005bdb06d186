namespace PortalLinkWorker.Upflow;

/// <summary>The log lines of <see cref="UpflowAvailability"/>: one per pause, half-open moment and resumption.</summary>
internal static partial class UpflowAvailabilityLog
{
    [LoggerMessage(Level = LogLevel.Error,
        Message = "Upflow refused the credentials ({Status}): consumption is paused and no link fails for it. Set Upflow:ApiKey and Upflow:ApiSecret (Upflow__ApiKey, Upflow__ApiSecret) to a valid key pair; the worker tries them again with one queued request at a time")]
    internal static partial void LogCredentialsRejected(ILogger logger, int status);

    [LoggerMessage(Level = LogLevel.Error,
        Message = "Upflow answered {Status} with {Problem}; received {Received}. No portal URL could be read, so Upflow calls are paused and no link fails for it: the messages wait in the queue. If Upflow renamed the field, set Upflow:UrlField (Upflow__UrlField); if its portal moved, add the host to Upflow:PortalHosts (Upflow__PortalHosts). One queued request tries every {Seconds:0.#} s")]
    internal static partial void LogAnswerUnreadable(ILogger logger, int status, string problem, string received, double seconds);

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "Upflow looks down for everyone: consumption is paused, messages stay in the queue, and one queued request tries Upflow every {Seconds:0.#} s")]
    internal static partial void LogOutage(ILogger logger, double seconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "Upflow calls paused ({Pause}): one queued request may try Upflow now")]
    internal static partial void LogHalfOpen(ILogger logger, UpflowPause pause);

    [LoggerMessage(Level = LogLevel.Information, Message = "Upflow still unavailable ({Pause}): next try in {Seconds:0.#} s")]
    internal static partial void LogStillDown(ILogger logger, UpflowPause pause, double seconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "Upflow answers again after {Pause}: consumption resumes")]
    internal static partial void LogResumed(ILogger logger, UpflowPause pause);
}
