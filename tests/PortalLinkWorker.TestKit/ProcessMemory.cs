using System.Globalization;

namespace PortalLinkWorker.TestKit;

/// <summary>A process's resident memory, from Linux's /proc/&lt;pid&gt;/status.</summary>
public static class ProcessMemory
{
    /// <summary>Resident set size now (VmRSS) and its peak over the process's life (VmHWM), in bytes; null once it has
    /// exited.</summary>
    public static (long Rss, long Peak)? Read(int pid)
    {
        try
        {
            long rss = 0, peak = 0;
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                    rss = Kilobytes(line) * 1024;
                else if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                    peak = Kilobytes(line) * 1024;
            }
            return (rss, peak);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static long Kilobytes(string line) =>
        long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
}
