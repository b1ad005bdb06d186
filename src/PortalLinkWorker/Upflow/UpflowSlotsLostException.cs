namespace PortalLinkWorker.Upflow;

/// <summary>The shared slots could not be reached (the database is away): every slot this process held is gone with
/// its session. The inner exception says why; a transient database error makes the message go back to the queue.</summary>
public sealed class UpflowSlotsLostException(Exception inner)
    : Exception("The shared Upflow call slots could not be reached; every slot this process held is released.", inner);
