using MassTransit;
using PortalLinkContracts;
using PortalLinkWorker.Upflow;

namespace PortalLinkWorker.Links;

/// <summary>Campaign items, from <c>generate-portal-link-bulk</c>: the same work as a live request
/// (<see cref="PortalLinkRequestHandler"/>), on the bulk lane, which takes only what live requests leave of the Upflow
/// budget and concurrency.</summary>
public sealed class GeneratePortalLinkBulkConsumer(PortalLinkRequestHandler handler) : IConsumer<GeneratePortalLink>
{
    public Task Consume(ConsumeContext<GeneratePortalLink> context) => handler.HandleAsync(context, UpflowLane.Bulk);
}
