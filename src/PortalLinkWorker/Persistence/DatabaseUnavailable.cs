using Npgsql;

namespace PortalLinkWorker.Persistence;

/// <summary>The one place that tells "PostgreSQL is unavailable" (not this statement's fault: try again later) from
/// any other database error.</summary>
public static class DatabaseUnavailable
{
    /// <summary>A lost or refused connection, or the server shutting down: Npgsql's transient errors, and the states a
    /// restart ends the sessions with (57P01 admin shutdown, 57P02 crash shutdown, 57P03 cannot connect now), which
    /// Npgsql does not count as transient: a restart ends every open session with 57P01.</summary>
    public static bool Is(Exception e)
    {
        for (var inner = e; inner is not null; inner = inner.InnerException)
            if (inner is NpgsqlException { IsTransient: true }
                or PostgresException { SqlState: PostgresErrorCodes.AdminShutdown or PostgresErrorCodes.CrashShutdown
                    or PostgresErrorCodes.CannotConnectNow })
                return true;
        return false;
    }
}
