using Dataplane.Conntrack;
using Dataplane.Packets;
using static Dataplane.Tests.Conntrack.ConntrackTableTests;

namespace Dataplane.Tests.Conntrack;

/// <summary>Per-worker expiry: each worker sweeps its own stripe of the index, and takes the table's lock only to remove something.</summary>
[Trait("Category", "unit")]
public class ConntrackSweeperTests
{
    private const long T = 1_000_000_000_000;

    private static FlowEntry Flow(int i, long expires)
        => ServiceFlow($"10.{1 + (i >> 16)}.{(i >> 8) & 0xFF}.{i & 0xFF}", (ushort)(1000 + (i % 50000)), "10.96.0.10", 80, "10.244.1.11", 8080, expires);

    private static void Fill(ConntrackTable table, int flows, Func<int, long> expires)
    {
        for (int i = 0; i < flows; i++)
        {
            FlowEntry flow = Flow(i, expires(i));
            Assert.Equal(InsertResult.Inserted, table.FindOrInsert(in flow, T, allowPortRemap: true, out _, out _));
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(7)]
    [InlineData(64)]
    public void Stripes_of_all_workers_cover_every_bucket_exactly_once(int workers)
    {
        ConntrackTable table = Table(16);
        int next = 0;
        for (int w = 0; w < workers; w++)
        {
            var sweeper = new ConntrackSweeper(table, w, workers);
            Assert.Equal(next, sweeper.FirstBucket);
            next += sweeper.BucketCount;
        }

        Assert.Equal(table.BucketCount, next);
    }

    [Fact]
    public void Expired_entries_in_every_stripe_are_removed_when_each_worker_sweeps_its_own()
    {
        const int Workers = 3;
        ConntrackTable table = Table(8192);
        Fill(table, 3000, i => i % 10 == 0 ? T + 1000 : T + 10);
        ConntrackSweeper[] sweepers = [.. Enumerable.Range(0, Workers).Select(w => new ConntrackSweeper(table, w, Workers))];

        int left = 3000;
        foreach (ConntrackSweeper sweeper in sweepers)
        {
            int removed = sweeper.Sweep(T + 10, sweeper.BucketCount);

            // Each stripe held expired entries, and a worker frees only its own: the others' are still there.
            Assert.InRange(removed, 1, 2700);
            left -= removed;
            Assert.Equal(left, table.Count);
        }

        Assert.Equal(300, table.Count);
        for (int i = 0; i < 3000; i += 10)
        {
            Assert.True(table.TryLookup(Flow(i, 0).Original, T + 10, out _, out _));
        }
    }

    [Fact]
    public void A_sweep_that_finds_nothing_expired_takes_no_lock()
    {
        ConntrackTable table = Table(4096);
        Fill(table, 1000, _ => T + 10);
        var sweeper = new ConntrackSweeper(table);

        // Another thread holds the table's write lock (RemoveWhere runs its predicate under it) while this worker
        // sweeps its whole stripe before the deadline: the sweep finishes anyway, so it never asked for the lock.
        using var holding = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        var holder = new Thread(() => table.RemoveWhere(_ =>
        {
            holding.Set();
            release.Wait();
            return false;
        }));
        holder.Start();
        try
        {
            Assert.True(holding.Wait(TimeSpan.FromSeconds(10)));
            var sweep = Task.Run(() => sweeper.Sweep(T + 9, sweeper.BucketCount));
            Assert.True(sweep.Wait(TimeSpan.FromSeconds(10)), "the sweep waited for the lock");
            Assert.Equal(0, sweep.Result);
            Assert.Equal(0, sweeper.LockedSweeps);
        }
        finally
        {
            release.Set();
            holder.Join();
        }

        // After the deadline the sweep finds expired entries, takes the lock once per call, and frees them.
        Assert.Equal(1000, sweeper.Sweep(T + 10, sweeper.BucketCount));
        Assert.Equal(1, sweeper.LockedSweeps);
        Assert.Equal(0, sweeper.Sweep(T + 10, sweeper.BucketCount));
        Assert.Equal(1, sweeper.LockedSweeps);
    }

    [Fact]
    public void Concurrent_sweeps_inserts_and_lookups_never_lose_a_live_flow()
    {
        const int Workers = 2, LongLived = 1000, Rounds = 20_000;
        ConntrackTable table = Table(16384);
        Fill(table, LongLived, _ => long.MaxValue);
        long now = T;
        bool done = false;
        var failures = new System.Collections.Concurrent.ConcurrentQueue<string>();

        Thread[] sweepers = [.. Enumerable.Range(0, Workers).Select(w => new Thread(() =>
        {
            var sweeper = new ConntrackSweeper(table, w, Workers);
            while (!Volatile.Read(ref done))
            {
                sweeper.Sweep(Volatile.Read(ref now), 8);
            }
        }))];
        FlowKey[] keys = [.. Enumerable.Range(0, LongLived).Select(i => Flow(i, 0).Original)];
        FlowEntry[] shortLived = [.. Enumerable.Range(LongLived, 4000).Select(i => Flow(i, 0))];
        var reader = new Thread(() =>
        {
            while (!Volatile.Read(ref done))
            {
                for (int i = 0; i < LongLived; i++)
                {
                    FlowKey key = keys[i];
                    if (!table.TryLookup(in key, Volatile.Read(ref now), out int entry, out bool reply) || reply || !table.Entry(entry).Original.Equals(key))
                    {
                        failures.Enqueue($"long-lived flow {i} missed or found another flow");
                    }
                }
            }
        });
        Thread[] threads = [.. sweepers, reader];
        foreach (Thread thread in threads)
        {
            thread.Start();
        }

        try
        {
            // Short-lived flows come and go (each lives 3 rounds) while the sweepers free them and the reader looks up.
            for (int round = 0; round < Rounds; round++)
            {
                long at = Volatile.Read(ref now);
                FlowEntry flow = shortLived[round % shortLived.Length] with { Expires = at + 3 };
                InsertResult result = table.FindOrInsert(in flow, at, allowPortRemap: true, out _, out _);
                Assert.True(result is InsertResult.Inserted or InsertResult.Existing, result.ToString());
                Volatile.Write(ref now, at + 1);
            }
        }
        finally
        {
            Volatile.Write(ref done, true);
            foreach (Thread thread in threads)
            {
                thread.Join();
            }
        }

        Assert.Empty(failures);
        ConntrackSweeper[] final = [.. Enumerable.Range(0, Workers).Select(w => new ConntrackSweeper(table, w, Workers))];
        foreach (ConntrackSweeper sweeper in final)
        {
            sweeper.Sweep(now + 10, sweeper.BucketCount);
        }

        Assert.Equal(LongLived, table.Count);
        Assert.Equal(LongLived, table.Snapshot(now + 10).Count);
    }
}
