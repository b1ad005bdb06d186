using MassTransit;
using PortalLinkContracts;
using PortalLinkWorker.Upflow;

namespace PortalLinkWorker.Links;

/// <summary>Live requests, from <c>generate-portal-link</c>: someone is waiting, so they go before campaign items at
/// every shared limit (<see cref="PortalLinkRequestHandler"/> does the work).</summary>
public sealed class GeneratePortalLinkConsumer(PortalLinkRequestHandler handler) : IConsumer<GeneratePortalLink>
{
    public Task Consume(ConsumeContext<GeneratePortalLink> context) => handler.HandleAsync(context, UpflowLane.Live);
}
