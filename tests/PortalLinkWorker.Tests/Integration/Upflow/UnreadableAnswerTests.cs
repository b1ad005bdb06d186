using System.Net;
using System.Text.Json;
using PortalLinkContracts;
using PortalLinkWorker.TestKit;
using PortalLinkWorker.Links;
using PortalLinkWorker.Tests.Upflow;
using Answer = PortalLinkWorker.Tests.Upflow.HostileUpflow.Answer;

namespace PortalLinkWorker.Tests.Integration.Upflow;

/// <summary>Upflow documents the request, not the answer: a 2xx whose portal URL cannot be read is a contract problem, so
/// the worker (on the real broker and database) pauses instead of failing, says what came on <c>/status.json</c> and
/// <c>/health/ready</c> (field names and kinds, never a value), and resumes by itself once answers are right again; and
/// <c>Upflow:UrlField</c> reads an answer of another shape.</summary>
[Collection(WorkerCollection.Name)]
[Trait("Category", "Integration")]
public sealed class UnreadableAnswerTests(WorkerFixture fixture) : IAsyncLifetime
{
    private const string ErrorQueue = GeneratePortalLinkConsumerDefinition.QueueName + "_error";

    /// <summary>Short, so the test sees several trials: one queued request per interval.</summary>
    private static readonly TimeSpan ProbeInterval = TimeSpan.FromMilliseconds(500);

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await fixture.Simulator.ConfigureAsync(new { omitUrl = false, urlField = "url" });
        await fixture.Worker.StopAsync();
        await fixture.Worker.StartAsync();
    }

    private async Task RestartWorkerAsync(Dictionary<string, string> overrides)
    {
        await fixture.Worker.StopAsync();
        await fixture.Worker.StartAsync(overrides);
    }

    [Fact]
    public async Task AnswerWithoutUrl_PausesWithNothingFailed_ResumesWhenAnswersAreRight()
    {
        await RestartWorkerAsync(new() { ["Upflow:UnreadableAnswerProbeInterval"] = ProbeInterval.ToString() });
        var errorsBefore = await RawQueue.DepthAsync(fixture.RabbitMq, ErrorQueue);
        var testStarted = DateTimeOffset.UtcNow;
        var requests = Enumerable.Range(0, 10).Select(_ => new GeneratePortalLink(Guid.NewGuid(), $"external:unreadable-{Guid.NewGuid():N}")).ToList();
        using var http = new HttpClient { BaseAddress = fixture.Worker.Url };

        // The simulator answers 200 with {"link": …, "id": …}: Upflow issued a link the worker cannot read.
        await fixture.Simulator.ConfigureAsync(new { omitUrl = true });
        try
        {
            await Task.WhenAll(requests.Select(r => fixture.Observer.Bus.Publish(r)));
            await Eventually.TrueAsync(async () => (await OurCallsAsync()).Count(c => c.Status == 200) >= 2);

            // Paused, and says what came: field names and kinds, never the URL.
            using (var status = JsonDocument.Parse(await http.GetStringAsync("/status.json")))
            {
                var upflow = status.RootElement.GetProperty("upflow");
                Assert.Equal("answer_unreadable", upflow.GetProperty("state").GetString());
                var description = upflow.GetProperty("description").GetString()!;
                Assert.Contains("no 'url' field", description);
                Assert.Contains("fields link (string), id (string)", description);
                Assert.DoesNotContain("https://", description);
            }
            using (var ready = await http.GetAsync("/health/ready"))
            {
                Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
                var body = await ready.Content.ReadAsStringAsync();
                Assert.Contains("fields link (string), id (string)", body);
                Assert.Contains("Upflow:UrlField", body);
                Assert.DoesNotContain(WorkerSettings.SimulatorPortalHost + "/p/", body);
            }

            // While paused: one queued request tries per interval, nothing fails, nothing is stored as a link.
            var before = (await OurCallsAsync()).Count;
            await Task.Delay(TimeSpan.FromSeconds(3));
            Assert.InRange((await OurCallsAsync()).Count - before, 1, 3 / ProbeInterval.TotalSeconds + 1);
            Assert.All(requests, r => Assert.Empty(fixture.Observer.OutcomesOf(r.RequestId)));
            foreach (var request in requests)
                if (await fixture.Database.RowAsync(request.RequestId) is { } row)
                {
                    Assert.Equal("pending", row.Status);
                    Assert.Null(row.Url);
                }
        }
        finally
        {
            await fixture.Simulator.ConfigureAsync(new { omitUrl = false });
        }

        // Answers are right again: the next trial reads a link and every request is generated, none failed.
        await fixture.Observer.ExpectGeneratedAsync(requests);
        Assert.All(requests, r => Assert.All(fixture.Observer.OutcomesOf(r.RequestId), o => Assert.IsType<PortalLinkGenerated>(o)));
        Assert.DoesNotContain(fixture.Observer.Faults, f => requests.Any(r => r.RequestId == f.Message.RequestId));
        Assert.Equal(errorsBefore, await RawQueue.DepthAsync(fixture.RabbitMq, ErrorQueue));
        using var after = JsonDocument.Parse(await http.GetStringAsync("/status.json"));
        Assert.Equal("running", after.RootElement.GetProperty("upflow").GetProperty("state").GetString());
        Assert.DoesNotContain(await fixture.Simulator.CallsAsync(), c => c.At >= testStarted && c.CustomerId.Contains("probe", StringComparison.Ordinal));

        async Task<List<UpflowSimulator.CallRecord>> OurCallsAsync() =>
            (await fixture.Simulator.CallsAsync()).Where(c => c.CustomerId.StartsWith("external:unreadable-", StringComparison.Ordinal)).ToList();
    }

    [Fact]
    public async Task SimulatorWithRenamedField_ReadThroughUrlField()
    {
        await RestartWorkerAsync(new() { ["Upflow:UrlField"] = "portalLink" });
        await fixture.Simulator.ConfigureAsync(new { urlField = "portalLink" });
        var request = new GeneratePortalLink(Guid.NewGuid(), $"external:renamed-{Guid.NewGuid():N}");

        await fixture.Observer.Bus.Publish(request);

        var generated = await fixture.Observer.OutcomeAsync<PortalLinkGenerated>(request.RequestId);
        Assert.StartsWith($"https://{WorkerSettings.SimulatorPortalHost}/p/", generated.Url);
    }

    [Fact]
    public async Task AnotherUpflowShape_LinkField_GeneratedWithUrlFieldLink()
    {
        await using var upflow = await HostileUpflow.StartAsync(Answer.LinkField);
        await RestartWorkerAsync(new() { ["Upflow:BaseUrl"] = upflow.BaseUrl.AbsoluteUri, ["Upflow:UrlField"] = "link" });
        var request = new GeneratePortalLink(Guid.NewGuid(), $"external:link-field-{Guid.NewGuid():N}");

        await fixture.Observer.Bus.Publish(request);

        var generated = await fixture.Observer.OutcomeAsync<PortalLinkGenerated>(request.RequestId);
        Assert.Equal($"https://{HostileUpflow.PortalHost}/p/{HostileUpflow.Token}", generated.Url);
        Assert.Equal(1, upflow.UpflowRequests);
    }
}
