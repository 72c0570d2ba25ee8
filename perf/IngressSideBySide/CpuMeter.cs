using System.Diagnostics;
using System.Globalization;

namespace Dataplane.IngressSideBySide;

/// <summary>
/// Where the CPU went during one measurement: the proxy's own processes (the nginx master and its workers, or the
/// dotnet host and all its threads), and how busy the proxy's and the load's CPUs were in all (other people's processes
/// included: this machine is shared). A proxy at 100 % of its one CPU is the limit; one well below it while its CPU is
/// busy lost time to something else; one below it on an idle CPU was waiting for the load or the backends.
/// </summary>
internal sealed class CpuMeter
{
    // /proc reports times in USER_HZ, which is 100 on every Linux architecture's user ABI.
    private const double TicksPerSecond = 100;

    private readonly int _proxyPid;
    private readonly int[] _proxyCpus;
    private readonly int[] _loadCpus;
    private readonly long _proxyTicks;
    private readonly (long Busy, long All) _proxyCpu;
    private readonly (long Busy, long All) _loadCpu;
    private readonly Stopwatch _clock = Stopwatch.StartNew();

    private CpuMeter(int proxyPid, int[] proxyCpus, int[] loadCpus)
    {
        _proxyPid = proxyPid;
        _proxyCpus = proxyCpus;
        _loadCpus = loadCpus;
        _proxyTicks = ProcessTreeTicks(proxyPid);
        _proxyCpu = CpuTicks(proxyCpus);
        _loadCpu = CpuTicks(loadCpus);
    }

    public static CpuMeter Start(int proxyPid, string proxyCpus, string loadCpus) => new(proxyPid, CpuList(proxyCpus), CpuList(loadCpus));

    /// <summary>(proxy processes in % of one CPU, proxy CPUs busy %, load CPUs busy %) since <see cref="Start"/>.</summary>
    public (double Proxy, double ProxyCpus, double LoadCpus) Stop()
    {
        double seconds = _clock.Elapsed.TotalSeconds;
        double proxy = (ProcessTreeTicks(_proxyPid) - _proxyTicks) / TicksPerSecond / seconds * 100;
        return (proxy, Busy(_proxyCpu, CpuTicks(_proxyCpus)), Busy(_loadCpu, CpuTicks(_loadCpus)));
    }

    private static double Busy((long Busy, long All) before, (long Busy, long All) after) =>
        after.All == before.All ? 0 : 100.0 * (after.Busy - before.Busy) / (after.All - before.All);

    /// <summary>user + system ticks of <paramref name="pid"/> (all its threads) and of its children (nginx's workers).</summary>
    private static long ProcessTreeTicks(int pid)
    {
        long total = 0;
        foreach (string dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out int candidate))
            {
                continue;
            }

            try
            {
                // "pid (comm) state ppid ... utime stime ...": fields after the comm, whose name may hold spaces.
                string stat = File.ReadAllText(Path.Combine(dir, "stat"));
                string[] fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                int ppid = int.Parse(fields[1], CultureInfo.InvariantCulture);
                if (candidate == pid || ppid == pid)
                {
                    total += long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
                }
            }
            catch (IOException)
            {
                // The process ended between the listing and the read.
            }
        }

        return total;
    }

    /// <summary>Busy and all ticks of <paramref name="cpus"/> from /proc/stat (idle and iowait are not busy).</summary>
    private static (long Busy, long All) CpuTicks(int[] cpus)
    {
        long busy = 0, all = 0;
        foreach (string line in File.ReadLines("/proc/stat"))
        {
            string[] fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (fields[0].StartsWith("cpu", StringComparison.Ordinal) && fields[0].Length > 3 &&
                cpus.Contains(int.Parse(fields[0].AsSpan(3), CultureInfo.InvariantCulture)))
            {
                long[] ticks = [.. fields.Skip(1).Take(8).Select(f => long.Parse(f, CultureInfo.InvariantCulture))];
                all += ticks.Sum();
                busy += ticks.Sum() - ticks[3] - ticks[4];
            }
        }

        return (busy, all);
    }

    /// <summary>A taskset CPU list ("1", "0-1", "0,2-3") as CPU numbers.</summary>
    public static int[] CpuList(string list) => [.. list.Split(',').SelectMany(part =>
    {
        string[] range = part.Split('-');
        int first = int.Parse(range[0], CultureInfo.InvariantCulture);
        int last = range.Length == 2 ? int.Parse(range[1], CultureInfo.InvariantCulture) : first;
        return Enumerable.Range(first, last - first + 1);
    })];
}
