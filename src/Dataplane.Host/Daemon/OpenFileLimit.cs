using Microsoft.Extensions.Logging;

namespace Dataplane.Daemon;

/// <summary>
/// RLIMIT_NOFILE: a daemon holds a TAP per pod, sockets, the capture and control connections; systemd and shells
/// often start it with a soft limit of 1024 under a hard limit of 500,000 or more. Raising the soft limit to the
/// hard one is free (no privilege needed) and moves fd exhaustion far away.
/// </summary>
internal static class OpenFileLimit
{
    /// <summary>The soft limit now (a limit another process lowered with prlimit included), or null if unknown.</summary>
    public static unsafe ulong? Current()
    {
        Interop.Libc.rlimit limit;
        return Interop.Libc.getrlimit(Interop.Libc.RLIMIT_NOFILE, &limit) == 0 ? limit.rlim_cur : null;
    }

    public static unsafe void RaiseToHard(ILogger logger)
    {
        Interop.Libc.rlimit limit;
        if (Interop.Libc.getrlimit(Interop.Libc.RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur >= limit.rlim_max)
        {
            return;
        }

        ulong before = limit.rlim_cur;
        limit.rlim_cur = limit.rlim_max;
        if (Interop.Libc.setrlimit(Interop.Libc.RLIMIT_NOFILE, &limit) != 0)
        {
            logger.LogWarning("could not raise the open-file limit from {Soft} to {Hard}: {Error}", before, limit.rlim_max, Io.Errno.Describe(Interop.Libc.GetLastErrno()));
            return;
        }

        logger.LogDebug("open-file limit raised from {Soft} to {Hard}", before, limit.rlim_max);
    }
}
