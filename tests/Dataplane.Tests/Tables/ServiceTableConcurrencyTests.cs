using Dataplane.Config;
using Dataplane.Model;
using Dataplane.Packets;
using Dataplane.Tables;
using static Dataplane.Tests.Tables.ServiceConfigs;

namespace Dataplane.Tests.Tables;

[Trait("Category", "slow")]
public sealed class ServiceTableConcurrencyTests
{
    /// <summary>
    /// One writer applies 10,000 versions of service A while two readers look up A and B and pick backends. Every
    /// snapshot a reader sees must be whole: its Maglev table built from exactly its eligible backends, every entry
    /// naming one of them, picks returning one of its eligible backends. B must never change. Bounded by counts.
    /// </summary>
    [Fact]
    public void Readers_see_only_whole_snapshots_while_a_service_changes()
    {
        const int updates = 10_000;
        const int maxReaderIterations = 20_000_000;
        var table = new ServiceTable(maxServicePorts: 64, maglevTableSize: 251); // small tables: 10k rebuilds stay quick
        Assert.True(table.Apply(Version(0)).Succeeded);
        Assert.True(table.Apply(Service("b", "10.96.0.2", Endpoints(4, group: 50))).Succeeded);
        Assert.True(table.TryLookup(Key("10.96.0.2", 80), out ServicePort? b));

        int writerDone = 0;
        var failures = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var snapshotsSeen = new int[2];
        var readers = new Thread[2];
        for (int r = 0; r < readers.Length; r++)
        {
            int reader = r;
            readers[r] = new Thread(() =>
            {
                ServicePort? last = null;
                var client = new IpAddress(new Ip4Address(0x0AF4_6300u + (uint)reader));
                for (int i = 0; i < maxReaderIterations && (Volatile.Read(ref writerDone) == 0 || i < 10_000) && failures.IsEmpty; i++)
                {
                    if (!table.TryLookup(Key("10.96.0.1", 80), out ServicePort? a))
                    {
                        failures.Enqueue($"A missing at iteration {i}");
                        break;
                    }

                    if (!ReferenceEquals(a, last))
                    {
                        CheckWhole(a, failures);
                        last = a;
                        snapshotsSeen[reader]++;
                    }

                    uint hash = (uint)i * 0x9E37_79B9;
                    if (a.TryPickBackend(hash, in client, i, out Backend picked))
                    {
                        int index = a.IndexOfStableId(picked.StableId);
                        if (index < 0 || !a.Backends[index].IsEligible || a.Backends[index] != picked)
                        {
                            failures.Enqueue($"picked {picked} not an eligible backend of {a}");
                        }

                        table.ReleaseConnection(Key("10.96.0.1", 80), picked.StableId);
                    }
                    else if (a.EligibleCount != 0)
                    {
                        failures.Enqueue($"no pick from {a}");
                    }

                    if (!table.TryLookup(Key("10.96.0.2", 80), out ServicePort? bNow) || !ReferenceEquals(bNow, b))
                    {
                        failures.Enqueue("B changed or vanished");
                    }
                }
            }) { IsBackground = true, Name = $"reader {r}" };
        }

        foreach (Thread t in readers)
        {
            t.Start();
        }

        for (int v = 1; v <= updates; v++)
        {
            ServiceUpdate update = table.Apply(Version(v));
            Assert.True(update.Succeeded, update.ToString());
        }

        Volatile.Write(ref writerDone, 1);
        foreach (Thread t in readers)
        {
            Assert.True(t.Join(TimeSpan.FromMinutes(2)), "reader did not finish");
        }

        Assert.True(failures.IsEmpty, string.Join("\n", failures.Take(5)));
        Assert.All(snapshotsSeen, seen => Assert.True(seen > 1, $"a reader saw only {seen} snapshot(s)"));
    }

    /// <summary>Version v of service A: 1 to 12 endpoints from a sliding window, every third terminating, weights 1-3.</summary>
    private static ServiceConfig Version(int v)
    {
        int count = 1 + v % 12;
        var endpoints = new EndpointConfig[count];
        for (int i = 0; i < count; i++)
        {
            int host = 1 + (v + i) % 40;
            endpoints[i] = Ep($"10.244.1.{host}", weight: 1 + host % 3, terminating: host % 3 == 0);
        }

        return Service("a", "10.96.0.1", endpoints, affinity: v % 2 == 0 ? SessionAffinity.ClientIP : SessionAffinity.None);
    }

    private static void CheckWhole(ServicePort port, System.Collections.Concurrent.ConcurrentQueue<string> failures)
    {
        ReadOnlySpan<Backend> backends = port.Backends;
        int eligible = 0;
        foreach (Backend backend in backends)
        {
            eligible += backend.IsEligible ? 1 : 0;
        }

        if (eligible != port.EligibleCount)
        {
            failures.Enqueue($"{port}: {eligible} eligible backends, EligibleCount {port.EligibleCount}");
        }

        MaglevTable? maglev = port.Maglev;
        if (eligible < 2)
        {
            if (maglev is not null)
            {
                failures.Enqueue($"{port}: Maglev table with {eligible} eligible backends");
            }

            return;
        }

        if (maglev is null || maglev.BackendCount != eligible)
        {
            failures.Enqueue($"{port}: Maglev table for {maglev?.BackendCount} backends, {eligible} eligible");
            return;
        }

        var owners = new HashSet<int>();
        foreach (ushort entry in maglev.Entries)
        {
            if (entry >= backends.Length || !backends[entry].IsEligible)
            {
                failures.Enqueue($"{port}: Maglev entry {entry} is not an eligible backend");
                return;
            }

            owners.Add(entry);
        }

        if (owners.Count != eligible)
        {
            failures.Enqueue($"{port}: {owners.Count} backends own entries, {eligible} eligible");
        }
    }
}
