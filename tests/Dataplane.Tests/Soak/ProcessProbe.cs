using System.Globalization;

namespace Dataplane.Tests.Soak;

/// <summary>What /proc says about a running process: its resident memory and its open file descriptors.</summary>
public static class ProcessProbe
{
    /// <summary>VmRSS from /proc/PID/status, in bytes (the kernel reports kB).</summary>
    public static long ResidentBytes(int pid)
    {
        foreach (string line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                string kilobytes = line["VmRSS:".Length..].Trim().Split(' ')[0];
                return long.Parse(kilobytes, NumberStyles.None, CultureInfo.InvariantCulture) * 1024;
            }
        }

        throw new InvalidOperationException($"/proc/{pid}/status has no VmRSS line");
    }

    /// <summary>The entries of /proc/PID/fd: every descriptor the process holds (files, sockets, TAPs, namespaces).</summary>
    public static int OpenDescriptors(int pid) => Directory.GetFileSystemEntries($"/proc/{pid}/fd").Length;
}
