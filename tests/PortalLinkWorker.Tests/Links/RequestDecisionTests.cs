using Microsoft.Extensions.Time.Testing;
using PortalLinkContracts;
using PortalLinkWorker.Links;
using PortalLinkWorker.Persistence;
using PortalLinkWorker.Upflow;

namespace PortalLinkWorker.Tests.Links;

/// <summary>Every branch of the request handler's decisions (<see cref="IncomingRequest"/>, <see cref="RequestOutcome"/>),
/// without the broker or the database.</summary>
[Trait("Category", "Unit")]
public sealed class RequestDecisionTests
{
    private const int MaxExpiresIn = 86_400_000;
    private const string Customer = "external:ACME-42";

    /// <summary>A time with ticks below the microsecond, which PostgreSQL would not keep.</summary>
    private static readonly DateTimeOffset At = new DateTimeOffset(2026, 12, 1, 10, 0, 0, TimeSpan.Zero).AddTicks(1234567);

    private static readonly DateTimeOffset AtMicroseconds = PostgresTime.Truncate(At);

    private static IncomingRequest Check(Guid requestId, string? customerId = Customer, int? expiresIn = null, string? frameAncestors = null,
        Guid? campaignId = null) =>
        IncomingRequest.Check(new GeneratePortalLink(requestId, customerId!, expiresIn, frameAncestors, campaignId), MaxExpiresIn);

    private static PortalLink Stored(Guid requestId, string customerId = Customer, string status = PortalLinkStatus.Pending) =>
        new()
        {
            RequestId = requestId, CustomerId = customerId, Status = status, CreatedAt = AtMicroseconds, UpdatedAt = AtMicroseconds,
            Url = status == PortalLinkStatus.Generated ? "https://portal.example/p/token" : null,
            ExpiresAt = status == PortalLinkStatus.Generated ? AtMicroseconds.AddDays(30) : null,
            GeneratedAt = status == PortalLinkStatus.Generated ? AtMicroseconds : null,
        };

    [Fact]
    public void Decide_GeneratedRowWhoseUrlWasErased_NothingRepublished()
    {
        var requestId = Guid.NewGuid();
        var stored = Stored(requestId, status: PortalLinkStatus.Generated);
        stored.Url = null;
        stored.UrlErasedAt = AtMicroseconds;

        Assert.IsType<RequestDecision.ErasedLink>(Check(requestId).Decide(stored));
    }

    [Fact]
    public void ReusableUntil_WithReuseIfValidFor_NowPlusThatLong_ElseNull()
    {
        var asked = IncomingRequest.Check(new GeneratePortalLink(Guid.NewGuid(), Customer, ReuseIfValidFor: 7 * 86_400), MaxExpiresIn);
        var notAsked = IncomingRequest.Check(new GeneratePortalLink(Guid.NewGuid(), Customer), MaxExpiresIn);

        Assert.Equal(AtMicroseconds.AddDays(7), asked.ReusableUntil(AtMicroseconds));
        Assert.Null(notAsked.ReusableUntil(AtMicroseconds));
        Assert.Equal(7 * 86_400, asked.PendingRow(AtMicroseconds).ReuseIfValidFor);
    }

    [Theory]
    [InlineData(0, "must be a positive number of seconds")]
    [InlineData(-5, "must be a positive number of seconds")]
    [InlineData(MaxExpiresIn + 1, "Upflow:MaxExpiresIn")]
    public void ReuseIfValidFor_OutOfRange_InvalidRequest_NoReuseAsked(int seconds, string problem)
    {
        var request = IncomingRequest.Check(new GeneratePortalLink(Guid.NewGuid(), Customer, ReuseIfValidFor: seconds), MaxExpiresIn);

        Assert.Contains(problem, request.Problem);
        Assert.Null(request.ReusableUntil(AtMicroseconds));
    }

    [Fact]
    public void ApplyReuse_TakesTheOriginsLink_AndPointsAtTheFirstRequestUpflowIssuedItFor()
    {
        var first = Stored(Guid.NewGuid(), status: PortalLinkStatus.Generated);
        var reusedOnce = Stored(Guid.NewGuid(), status: PortalLinkStatus.Generated);
        reusedOnce.ReusedFrom = first.RequestId;
        var link = Stored(Guid.NewGuid());

        RequestOutcome.ApplyReuse(link, reusedOnce, AtMicroseconds.AddMinutes(1));

        Assert.Equal(PortalLinkStatus.Generated, link.Status);
        Assert.Equal(reusedOnce.Url, link.Url);
        Assert.Equal(reusedOnce.ExpiresAt, link.ExpiresAt);
        Assert.Equal(reusedOnce.GeneratedAt, link.GeneratedAt);
        Assert.Equal(first.RequestId, link.ReusedFrom);
        var generated = Assert.IsType<PortalLinkGenerated>(RequestOutcome.Event(link, Customer));
        Assert.Equal(link.RequestId, generated.RequestId);
        Assert.Equal(reusedOnce.Url, generated.Url);
    }

    [Fact]
    public void ApplyReuse_RowWithoutALink_Throws()
    {
        Assert.Throws<InvalidOperationException>(() =>
            RequestOutcome.ApplyReuse(Stored(Guid.NewGuid()), Stored(Guid.NewGuid(), status: PortalLinkStatus.Failed), AtMicroseconds));
    }

    [Fact]
    public void Start_NoRequestId_RejectedUnrecorded_WithTheValidatorsReason()
    {
        var decision = Check(Guid.Empty).Start(AtMicroseconds);

        var rejected = Assert.IsType<RequestDecision.RejectUnrecorded>(decision);
        Assert.Contains("RequestId is missing or empty", rejected.Problem);
    }

    [Fact]
    public void Start_ValidRequest_LocksItsRowAndCustomer_WithThePendingRow()
    {
        var requestId = Guid.NewGuid();
        var campaignId = Guid.NewGuid();

        var decision = Check(requestId, frameAncestors: "", campaignId: campaignId).Start(AtMicroseconds);

        var (pending, lockCustomer) = Assert.IsType<RequestDecision.Lock>(decision);
        Assert.True(lockCustomer);
        Assert.Equal((requestId, Customer, PortalLinkStatus.Pending, campaignId, UpflowOptions.DefaultExpiresInSeconds, (string?)null),
            (pending.RequestId, pending.CustomerId, pending.Status, pending.CampaignId, pending.ExpiresIn, pending.FrameAncestors));
        Assert.Equal((AtMicroseconds, AtMicroseconds), (pending.CreatedAt, pending.UpdatedAt));
        Assert.False(pending.IsFinal);
    }

    [Fact]
    public void Start_ValidRequest_KeepsItsLifetimeAndFrameAncestors()
    {
        var (pending, _) = Assert.IsType<RequestDecision.Lock>(Check(Guid.NewGuid(), expiresIn: 600, frameAncestors: "erp.example").Start(At));

        Assert.Equal((600, "erp.example"), (pending.ExpiresIn, pending.FrameAncestors));
    }

    [Fact]
    public void Start_InvalidRequest_LocksTheRowOnly_AndStoresNothingMeantForUpflow()
    {
        var badId = "external:" + new string('x', 5000) + "\n";

        var request = Check(Guid.NewGuid(), badId, expiresIn: 600, frameAncestors: "erp.example");
        var (pending, lockCustomer) = Assert.IsType<RequestDecision.Lock>(request.Start(AtMicroseconds));

        Assert.False(lockCustomer);
        Assert.Equal(CustomerIdEcho.Stored(badId), pending.CustomerId);
        Assert.NotEqual(badId, pending.CustomerId);
        Assert.Equal(((int?)null, (string?)null), (pending.ExpiresIn, pending.FrameAncestors));
        Assert.Equal(IncomingRequest.InvalidCustomerIdShown, request.ShownCustomerId);
    }

    [Fact]
    public void Check_ValidCustomerId_IsShownAsItIs() =>
        Assert.Equal(Customer, Check(Guid.NewGuid()).ShownCustomerId);

    [Fact]
    public void Check_NullCustomerId_IsInvalid_AndShownAsInvalid()
    {
        var request = Check(Guid.NewGuid(), customerId: null);

        Assert.False(request.IsValid);
        Assert.Equal("", request.CustomerId);
        Assert.Equal(IncomingRequest.InvalidCustomerIdShown, request.ShownCustomerId);
    }

    [Fact]
    public void Decide_RequestIdStoredForAnotherCustomer_RejectedAsReused()
    {
        var requestId = Guid.NewGuid();

        var decision = Check(requestId).Decide(Stored(requestId, customerId: "external:someone-else", status: PortalLinkStatus.Generated));

        var reused = Assert.IsType<RequestDecision.RejectReused>(decision);
        Assert.Contains($"RequestId {requestId} was already used for another customer", reused.Problem);
    }

    [Theory]
    [InlineData(PortalLinkStatus.Generated)]
    [InlineData(PortalLinkStatus.Failed)]
    public void Decide_FinalRowOfTheSameCustomer_Republished(string status)
    {
        var requestId = Guid.NewGuid();

        Assert.IsType<RequestDecision.Republish>(Check(requestId).Decide(Stored(requestId, status: status)));
    }

    [Fact]
    public void Decide_InvalidRequestWithAFinalRow_Republished_NotComparedByCustomer()
    {
        var requestId = Guid.NewGuid();

        var decision = Check(requestId, customerId: "123").Decide(Stored(requestId, customerId: "123-stored", status: PortalLinkStatus.Failed));

        Assert.IsType<RequestDecision.Republish>(decision);
    }

    [Fact]
    public void Decide_InvalidRequestPending_SavedInvalid_WithTheValidatorsReason()
    {
        var requestId = Guid.NewGuid();
        var request = Check(requestId, expiresIn: -1);

        var invalid = Assert.IsType<RequestDecision.SaveInvalid>(request.Decide(Stored(requestId)));

        Assert.Equal(request.Problem, invalid.Problem);
        Assert.NotNull(invalid.Problem);
    }

    [Fact]
    public void Decide_ValidRequestPending_CallsUpflow()
    {
        var requestId = Guid.NewGuid();

        Assert.IsType<RequestDecision.CallUpflow>(Check(requestId).Decide(Stored(requestId)));
    }

    [Fact]
    public void Apply_Issued_Generated_WithTimesCutToTheMicrosecond()
    {
        var link = Stored(Guid.NewGuid());
        var later = AtMicroseconds.AddSeconds(1);

        RequestOutcome.Apply(link, new UpflowAnswer.Issued("https://portal.example/p/secret", At.AddDays(1), At), later);

        Assert.Equal((PortalLinkStatus.Generated, "https://portal.example/p/secret", AtMicroseconds.AddDays(1), AtMicroseconds, later),
            (link.Status, link.Url, link.ExpiresAt, link.GeneratedAt, link.UpdatedAt));
        Assert.Equal(((string?)null, (DateTimeOffset?)null), (link.FailureReason, link.FailedAt));
        Assert.True(link.IsFinal);
    }

    [Fact]
    public void Apply_Refused_FailedWithUpflowsReason()
    {
        var link = Stored(Guid.NewGuid());

        RequestOutcome.Apply(link, new UpflowAnswer.Refused(PortalLinkFailureReason.CustomerNotFound, "no such customer", 404), AtMicroseconds);

        Assert.Equal((PortalLinkStatus.Failed, PortalLinkFailureReason.CustomerNotFound, "no such customer", AtMicroseconds, AtMicroseconds),
            (link.Status, link.FailureReason, link.FailureMessage, link.FailedAt, link.UpdatedAt));
        Assert.Null(link.Url);
    }

    [Fact]
    public void Apply_Unavailable_FailedAsUpflowUnavailable()
    {
        var link = Stored(Guid.NewGuid());

        RequestOutcome.Apply(link, new UpflowAnswer.Unavailable("503 three times", 503, At), AtMicroseconds);

        Assert.Equal((PortalLinkStatus.Failed, PortalLinkFailureReason.UpflowUnavailable, "503 three times"),
            (link.Status, link.FailureReason, link.FailureMessage));
    }

    [Fact]
    public void Apply_Paused_HasNoOutcome_AndLeavesTheRowPending()
    {
        var link = Stored(Guid.NewGuid());

        Assert.Throws<InvalidOperationException>(() => RequestOutcome.Apply(link, new UpflowAnswer.Paused("429", At), AtMicroseconds));
        Assert.Equal(PortalLinkStatus.Pending, link.Status);
    }

    [Fact]
    public void Event_GeneratedRow_PortalLinkGenerated_WithTheCustomerIdAsGiven()
    {
        var link = Stored(Guid.NewGuid());
        link.CampaignId = Guid.NewGuid();
        RequestOutcome.Apply(link, new UpflowAnswer.Issued("https://portal.example/p/1", At.AddDays(1), At), AtMicroseconds);

        var generated = Assert.IsType<PortalLinkGenerated>(RequestOutcome.Event(link, Customer));

        Assert.Equal(new PortalLinkGenerated(link.RequestId, Customer, "https://portal.example/p/1", AtMicroseconds.AddDays(1), AtMicroseconds,
            link.CampaignId), generated);
    }

    [Fact]
    public void Event_FailedRow_PortalLinkFailed_EchoingTheCustomerIdSafely()
    {
        var hostile = "external:a\nforged log line";
        var link = Stored(Guid.NewGuid(), customerId: CustomerIdEcho.Stored(hostile));
        RequestOutcome.MarkFailed(link, PortalLinkFailureReason.InvalidRequest, "bad id", AtMicroseconds);

        var failed = Assert.IsType<PortalLinkFailed>(RequestOutcome.Event(link, hostile));

        Assert.Equal(new PortalLinkFailed(link.RequestId, CustomerIdEcho.Echoed(hostile), PortalLinkFailureReason.InvalidRequest, "bad id",
            AtMicroseconds, null), failed);
        Assert.DoesNotContain('\n', failed.CustomerId);
    }

    [Fact]
    public void Rejected_InvalidRequestFailure_OfTheMessage_AtTheGivenTime()
    {
        var campaignId = Guid.NewGuid();
        var message = new GeneratePortalLink(Guid.Empty, Customer, null, null, campaignId);

        Assert.Equal(new PortalLinkFailed(Guid.Empty, Customer, PortalLinkFailureReason.InvalidRequest, "why", At, campaignId),
            RequestOutcome.Rejected(message, "why", At));
    }

    [Fact]
    public void FirstTriedAt_RoundTripsTheHeader()
    {
        var time = new FakeTimeProvider(At);
        var firstTried = At.AddMinutes(-3);

        Assert.Equal(firstTried, RequestOutcome.FirstTriedAt(RequestOutcome.FirstTriedAtValue(firstTried), time.GetUtcNow()));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("yesterday")]
    [InlineData("2026-12-01")]
    public void FirstTriedAt_AbsentOrUnreadable_Null(string? header) =>
        Assert.Null(RequestOutcome.FirstTriedAt(header, At));

    [Fact]
    public void FirstTriedAt_InTheFuture_Null()
    {
        var time = new FakeTimeProvider(At);
        var header = RequestOutcome.FirstTriedAtValue(At.AddSeconds(1));

        Assert.Null(RequestOutcome.FirstTriedAt(header, time.GetUtcNow()));
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.NotNull(RequestOutcome.FirstTriedAt(header, time.GetUtcNow()));
    }

    [Fact]
    public void UnavailableSince_TheEarlierOfTheFirstTryAndThisDeliverysFirstAttempt()
    {
        var unavailable = new UpflowAnswer.Unavailable("timeout", null, At);

        Assert.Equal(At, RequestOutcome.UnavailableSince(null, unavailable));
        Assert.Equal(At.AddMinutes(-5), RequestOutcome.UnavailableSince(At.AddMinutes(-5), unavailable));
        Assert.Equal(At, RequestOutcome.UnavailableSince(At.AddMinutes(5), unavailable));
    }
}
