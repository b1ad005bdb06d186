namespace PortalLinkWorker.Upflow;

/// <summary>A 2xx answer from Upflow from which no portal URL could be read, described without any of its values (a value
/// may be a live portal URL): <see cref="Problem"/> says which rule it broke ("no 'url' field"), <see cref="Received"/>
/// its shape ("a JSON object with fields link (string), id (string)"). Upflow documents the request, not the answer, so
/// this is a contract problem for every request, not one request's failure: calls pause on it
/// (<see cref="UpflowAvailability.ReportAnswerUnreadable"/>).</summary>
public sealed record UnreadableAnswer(int Status, string Problem, string Received)
{
    /// <summary>One sentence for a log line, the health check and the status page.</summary>
    public override string ToString() => $"Upflow answered {Status} with {Problem}; received {Received}";
}
