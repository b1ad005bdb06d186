using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;

namespace PortalLinkWorker.Persistence;

/// <summary>Lets <c>dotnet ef migrations add</c> build the model without starting the worker; it never connects.</summary>
public sealed class PortalLinkDbContextFactory : IDesignTimeDbContextFactory<PortalLinkDbContext>
{
    public PortalLinkDbContext CreateDbContext(string[] args) =>
        new(new DbContextOptionsBuilder<PortalLinkDbContext>().UseNpgsql("Host=design-time-only").Options);
}
