using System.Runtime.CompilerServices;
using Dataplane.Conntrack;
using Dataplane.Packets;
using Xunit.Abstractions;

namespace Dataplane.Tests.Conntrack;

/// <summary>The conntrack table on its own: both directions, lazy expiry, incremental sweep, full, clash, concurrency.</summary>
[Trait("Category", "unit")]
public class ConntrackTableTests(ITestOutputHelper output)
{
    internal static readonly IpAddress Gateway4 = IpAddress.Parse("10.244.1.1");
    internal static readonly IpAddress Gateway6 = IpAddress.Parse("fd00:10:244:1::1");
    private const long T = 1_000_000_000_000;

    internal static ConntrackTable Table(int capacity) => new(capacity, Gateway4, Gateway6);

    /// <summary>A service flow client:sport &gt; vip:vport DNATed to backend:bport.</summary>
    internal static FlowEntry ServiceFlow(string client, ushort sport, string vip, ushort vport, string backend, ushort bport, long expires,
        byte protocol = IpProtocol.Tcp)
    {
        IpAddress b = IpAddress.Parse(backend);
        return new FlowEntry
        {
            Original = new FlowKey(IpAddress.Parse(client), IpAddress.Parse(vip), sport, vport, protocol),
            NatHi = b.Bits.Hi,
            NatLo = b.Bits.Lo,
            NatPort = bport,
            Flags = FlowFlags.Dnat | FlowFlags.Service,
            Expires = expires,
            TcpState = protocol == IpProtocol.Tcp ? TcpState.SynSent : TcpState.None,
        };
    }

    private static FlowKey Key(string src, ushort sport, string dst, ushort dport, byte protocol = IpProtocol.Tcp)
        => new(IpAddress.Parse(src), IpAddress.Parse(dst), sport, dport, protocol);

    private static int Insert(ConntrackTable table, in FlowEntry flow, long now = T, bool remap = true)
    {
        Assert.Equal(InsertResult.Inserted, table.FindOrInsert(in flow, now, remap, out int entry, out bool reply));
        Assert.False(reply);
        return entry;
    }

    [Theory]
    [InlineData("10.244.1.20", "10.96.0.10", "10.244.2.12")]
    [InlineData("fd00:10:244:1::20", "fd00:96::10", "fd00:10:244:2::12")]
    public void Inserted_flow_is_found_from_both_directions(string client, string vip, string backend)
    {
        ConntrackTable table = Table(1024);
        FlowEntry flow = ServiceFlow(client, 40000, vip, 80, backend, 8080, T + 100);
        int entry = Insert(table, flow);

        Assert.True(table.TryLookup(Key(client, 40000, vip, 80), T, out int found, out bool reply));
        Assert.Equal(entry, found);
        Assert.False(reply);

        FlowKey replyKey = table.ReplyKey(in table.Entry(entry));
        Assert.Equal(Key(backend, 8080, client, 40000), replyKey);
        Assert.True(table.TryLookup(in replyKey, T, out found, out reply));
        Assert.Equal(entry, found);
        Assert.True(reply);

        // Near misses miss: another port, the VIP as a reply source, another protocol.
        Assert.False(table.TryLookup(Key(client, 40001, vip, 80), T, out _, out _));
        Assert.False(table.TryLookup(Key(vip, 80, client, 40000), T, out _, out _));
        Assert.False(table.TryLookup(Key(client, 40000, vip, 80, IpProtocol.Udp), T, out _, out _));
        Assert.Equal(1, table.Count);
    }

    [Theory]
    [InlineData("10.244.1.11", "10.96.0.10", "10.244.1.1")]
    [InlineData("fd00:10:244:1::11", "fd00:96::10", "fd00:10:244:1::1")]
    public void Hairpin_flow_is_found_by_its_reply_to_the_gateway(string pod, string vip, string gateway)
    {
        ConntrackTable table = Table(1024);
        FlowEntry flow = ServiceFlow(pod, 45000, vip, 80, pod, 8080, T + 100);
        flow.Flags |= FlowFlags.SnatAddress;
        int entry = Insert(table, flow);

        Assert.True(table.TryLookup(Key(pod, 8080, gateway, 45000), T, out int found, out bool reply));
        Assert.Equal(entry, found);
        Assert.True(reply);
        Assert.False(table.TryLookup(Key(pod, 8080, pod, 45000), T, out _, out _));
    }

    [Fact]
    public void Lookup_at_or_after_the_deadline_misses_but_the_entry_holds_its_slot_until_swept()
    {
        ConntrackTable table = Table(1024);
        FlowEntry flow = ServiceFlow("10.244.1.20", 40000, "10.96.0.10", 80, "10.244.1.11", 8080, T + 100);
        Insert(table, flow);

        Assert.True(table.TryLookup(in flow.Original, T + 99, out _, out _));
        Assert.False(table.TryLookup(in flow.Original, T + 100, out _, out _));
        Assert.False(table.TryLookup(Key("10.244.1.11", 8080, "10.244.1.20", 40000), T + 100, out _, out _));
        Assert.Equal(1, table.Count);
        Assert.Empty(table.Snapshot(T + 100));
    }

    [Fact]
    public void Find_or_insert_of_a_live_tuple_returns_the_existing_entry_unchanged()
    {
        ConntrackTable table = Table(1024);
        int entry = Insert(table, ServiceFlow("10.244.1.20", 40000, "10.96.0.10", 80, "10.244.1.11", 8080, T + 100));

        FlowEntry other = ServiceFlow("10.244.1.20", 40000, "10.96.0.10", 80, "10.244.2.12", 8080, T + 100);
        Assert.Equal(InsertResult.Existing, table.FindOrInsert(in other, T + 50, true, out int found, out bool reply));
        Assert.Equal(entry, found);
        Assert.False(reply);
        Assert.Equal(IpAddress.Parse("10.244.1.11").Bits.Lo, table.Entry(found).NatLo);
        Assert.Equal(1, table.Count);
    }

    [Fact]
    public void Find_or_insert_replaces_a_dead_entry_and_its_old_reply_tuple()
    {
        ConntrackTable table = Table(1024);
        Insert(table, ServiceFlow("10.244.1.20", 40000, "10.96.0.10", 80, "10.244.1.11", 8080, T + 100));

        FlowEntry again = ServiceFlow("10.244.1.20", 40000, "10.96.0.10", 80, "10.244.2.12", 8080, T + 300);
        int entry = Insert(table, again, now: T + 200);
        Assert.Equal(1, table.Count);
        Assert.True(table.TryLookup(Key("10.244.2.12", 8080, "10.244.1.20", 40000), T + 200, out int found, out _));
        Assert.Equal(entry, found);
        Assert.False(table.TryLookup(Key("10.244.1.11", 8080, "10.244.1.20", 40000), T + 200, out _, out _));
    }

    [Fact]
    public void Sweep_frees_expired_entries_a_few_buckets_at_a_time()
    {
        const int Capacity = 1024;
        ConntrackTable table = Table(Capacity);
        for (int i = 0; i < 400; i++)
        {
            long expires = i < 300 ? T + 10 : T + 1000;
            Insert(table, ServiceFlow($"10.1.{i / 200}.{i % 200}", (ushort)(1000 + i), "10.96.0.10", 80, "10.244.1.11", 8080, expires));
        }

        // Before the deadline a sweep frees nothing; after it, lookups miss at once but slots are freed only as the
        // cursor passes their bucket: one bucket (7 slots) per call here, so the whole index takes `buckets` calls.
        int buckets = (int)((table.MemoryBytes - ((long)Capacity * (Unsafe.SizeOf<FlowEntry>() + sizeof(int)))) / 64);
        Assert.Equal(512, buckets);
        var sweeper = new ConntrackSweeper(table);
        for (int b = 0; b < buckets; b++)
        {
            Assert.Equal(0, sweeper.Sweep(T + 9, 1));
        }

        Assert.Equal(400, table.Count);
        int calls = 0, freeing = 0;
        while (table.Count > 100)
        {
            int freed = sweeper.Sweep(T + 10, 1);
            Assert.InRange(freed, 0, 7);
            freeing += freed > 0 ? 1 : 0;
            calls++;
            Assert.True(calls <= buckets, $"{table.Count} entries left after a full pass");
        }

        Assert.InRange(freeing, 300 / 7, buckets);
        Assert.Equal(100, table.Snapshot(T + 10).Count);
        for (int i = 300; i < 400; i++)
        {
            Assert.True(table.TryLookup(Key($"10.1.{i / 200}.{i % 200}", (ushort)(1000 + i), "10.96.0.10", 80), T + 10, out _, out _));
        }
    }

    [Fact]
    public void Remove_where_removes_matching_flows_from_both_directions_and_reports_them()
    {
        ConntrackTable table = Table(1024);
        int ended = 0;
        table.ServiceFlowEnded = _ => ended++;
        for (ushort p = 1000; p < 1200; p++)
        {
            Insert(table, ServiceFlow("10.244.1.20", p, "10.96.0.10", 80, p % 2 == 0 ? "10.244.1.11" : "10.244.2.12", 8080, T + 100));
        }

        ulong removedBackend = IpAddress.Parse("10.244.1.11").Bits.Lo;
        Assert.Equal(100, table.RemoveWhere(f => f.NatLo == removedBackend));
        Assert.Equal(100, ended);
        Assert.Equal(100, table.Count);
        for (ushort p = 1000; p < 1200; p++)
        {
            bool kept = p % 2 == 1;
            string backend = kept ? "10.244.2.12" : "10.244.1.11";
            Assert.Equal(kept, table.TryLookup(Key("10.244.1.20", p, "10.96.0.10", 80), T, out _, out _));
            Assert.Equal(kept, table.TryLookup(Key(backend, 8080, "10.244.1.20", p), T, out _, out _));
        }
    }

    [Fact]
    public void Full_table_refuses_new_flows_keeps_old_ones_and_has_room_again_after_expiry()
    {
        const int Capacity = 1024;
        ConntrackTable table = Table(Capacity);
        for (int i = 0; i < Capacity; i++)
        {
            // Established: answered flows are never early-dropped, so the table is really full.
            FlowEntry flow = ServiceFlow($"10.2.{i / 256}.{i % 256}", 5000, "10.96.0.10", 80, "10.244.1.11", 8080, i == 0 ? T + 10_000 : T + 100);
            flow.Flags |= FlowFlags.SeenReply;
            flow.TcpState = TcpState.Established;
            Insert(table, flow);
        }

        FlowEntry late = ServiceFlow("10.3.0.1", 5000, "10.96.0.10", 80, "10.244.1.11", 8080, T + 200);
        Assert.Equal(InsertResult.Full, table.FindOrInsert(in late, T + 50, true, out int entry, out _));
        Assert.Equal(-1, entry);
        Assert.Equal(Capacity, table.Count);
        Assert.False(table.TryLookup(in late.Original, T + 50, out _, out _));
        for (int i = 0; i < Capacity; i++)
        {
            Assert.True(table.TryLookup(Key($"10.2.{i / 256}.{i % 256}", 5000, "10.96.0.10", 80), T + 50, out _, out _));
        }

        // After expiry the insert itself sweeps for room (a bounded number of buckets) ...
        Assert.Equal(InsertResult.Inserted, table.FindOrInsert(in late, T + 100, true, out _, out _));

        // ... and after a full sweep everything dead is gone; the long-lived flow stays.
        new ConntrackSweeper(table).Sweep(T + 100, 512);
        Assert.Equal(2, table.Count);
        Assert.True(table.TryLookup(Key("10.2.0.0", 5000, "10.96.0.10", 80), T + 100, out _, out _));
    }

    [Fact]
    public void Reply_tuple_clash_remaps_the_source_port_so_both_flows_have_distinct_reply_tuples()
    {
        ConntrackTable table = Table(1024);
        FlowEntry first = ServiceFlow("10.244.1.20", 40000, "10.96.0.10", 80, "10.244.1.11", 8080, T + 100);
        FlowEntry second = ServiceFlow("10.244.1.20", 40000, "10.96.0.11", 80, "10.244.1.11", 8080, T + 100);
        int a = Insert(table, first);

        Assert.Equal(InsertResult.Clash, table.FindOrInsert(in second, T, allowPortRemap: false, out int refused, out _));
        Assert.Equal(-1, refused);

        int b = Insert(table, second);
        ref FlowEntry remapped = ref table.Entry(b);
        Assert.NotEqual(0, (int)(remapped.Flags & FlowFlags.SnatPort));
        Assert.InRange(remapped.SnatPort, 32768, 60999);

        FlowKey replyA = table.ReplyKey(in table.Entry(a));
        FlowKey replyB = table.ReplyKey(in remapped);
        Assert.NotEqual(replyA, replyB);
        Assert.Equal(Key("10.244.1.11", 8080, "10.244.1.20", remapped.SnatPort), replyB);
        Assert.True(table.TryLookup(in replyA, T, out int foundA, out bool isReplyA) && isReplyA);
        Assert.True(table.TryLookup(in replyB, T, out int foundB, out bool isReplyB) && isReplyB);
        Assert.Equal(a, foundA);
        Assert.Equal(b, foundB);

        // A third flow clashing the same way gets yet another port.
        FlowEntry third = ServiceFlow("10.244.1.20", 40000, "10.96.0.12", 80, "10.244.1.11", 8080, T + 100);
        int c = Insert(table, third);
        Assert.NotEqual(remapped.SnatPort, table.Entry(c).SnatPort);
    }

    [Fact]
    public void Clash_with_a_dead_owner_is_no_clash()
    {
        ConntrackTable table = Table(1024);
        Insert(table, ServiceFlow("10.244.1.20", 40000, "10.96.0.10", 80, "10.244.1.11", 8080, T + 100));
        int b = Insert(table, ServiceFlow("10.244.1.20", 40000, "10.96.0.11", 80, "10.244.1.11", 8080, T + 300), now: T + 200);
        Assert.Equal(0, (int)(table.Entry(b).Flags & FlowFlags.SnatPort));
        Assert.Equal(1, table.Count);
    }

    [Fact]
    public void Clash_of_a_protocol_without_ports_is_refused()
    {
        ConntrackTable table = Table(1024);
        var first = new FlowEntry
        {
            Original = Key("10.244.1.20", 7, "10.244.1.11", 0, IpProtocol.Icmp), Expires = T + 100,
            NatHi = 0, NatLo = IpAddress.Parse("10.244.1.11").Bits.Lo, NatPort = 0,
        };
        Insert(table, first);
        FlowEntry second = first;
        second.Original.DestinationLo = IpAddress.Parse("10.244.1.99").Bits.Lo; // same reply tuple, other original
        Assert.Equal(InsertResult.Clash, table.FindOrInsert(in second, T, allowPortRemap: true, out _, out _));
    }

    [Fact]
    public void Two_threads_inserting_the_same_new_flows_end_on_one_entry_per_flow()
    {
        const int Flows = 2000;
        ConntrackTable table = Table(4096);
        var results = new (InsertResult Result, int Entry)[2, Flows];
        using var start = new Barrier(2);
        Thread[] threads = [.. Enumerable.Range(0, 2).Select(t => new Thread(() =>
        {
            start.SignalAndWait();
            for (int i = 0; i < Flows; i++)
            {
                FlowEntry flow = ServiceFlow($"10.4.{i / 250}.{i % 250}", 33333, "10.96.0.10", 53, "10.244.1.11", 5353, T + 100, IpProtocol.Udp);
                InsertResult result = table.FindOrInsert(in flow, T, true, out int entry, out _);
                results[t, i] = (result, entry);
            }
        }))];
        foreach (Thread thread in threads)
        {
            thread.Start();
        }

        foreach (Thread thread in threads)
        {
            Assert.True(thread.Join(TimeSpan.FromMinutes(1)));
        }

        for (int i = 0; i < Flows; i++)
        {
            Assert.Equal(results[0, i].Entry, results[1, i].Entry);
            Assert.Equal(
                new[] { InsertResult.Inserted, InsertResult.Existing },
                new[] { results[0, i].Result, results[1, i].Result }.Order());
        }

        Assert.Equal(Flows, table.Count);
    }

    [Fact]
    public void Concurrent_readers_never_see_a_wrong_entry_while_a_writer_inserts_and_removes_other_flows()
    {
        const int Capacity = 8192, Fixed = 512, ChurnLive = 6000, WriterOps = 60_000, MinPasses = 20, MaxPasses = 5000;
        ConntrackTable table = Table(Capacity);
        var fixedKeys = new FlowKey[Fixed];
        var fixedReplies = new FlowKey[Fixed];
        var fixedEntries = new int[Fixed];
        for (int i = 0; i < Fixed; i++)
        {
            FlowEntry flow = ServiceFlow($"10.5.{i / 200}.{i % 200}", (ushort)(2000 + i), "10.96.0.10", 80, $"10.244.1.{(i % 200) + 2}", 8080, long.MaxValue);
            fixedEntries[i] = Insert(table, flow);
            fixedKeys[i] = flow.Original;
            fixedReplies[i] = table.ReplyKey(in table.Entry(fixedEntries[i]));
        }

        int failures = 0;
        string? firstFailure = null;
        void Fail(string message)
        {
            if (Interlocked.Increment(ref failures) == 1)
            {
                firstFailure = message;
            }
        }

        // Churn flows share the fixed flows' buckets at up to 80% load, so slots are published, cleared and
        // overflow counts change all around the keys the readers look for.
        FlowEntry[] churn = [.. Enumerable.Range(0, WriterOps).Select(n =>
            ServiceFlow($"10.6.{(n >> 8) & 0xFF}.{n & 0xFF}", (ushort)(1024 + (n >> 16)), "10.96.0.10", 80, "10.244.1.11", 8080, long.MaxValue))];
        bool writerDone = false;
        using var start = new Barrier(3);
        var writer = new Thread(() =>
        {
            var live = new Queue<int>();
            int next = 0;
            start.SignalAndWait();
            for (int op = 0; op < WriterOps; op++)
            {
                if (live.Count < ChurnLive && (op & 1) == 0)
                {
                    if (table.FindOrInsert(in churn[next++], T, true, out int entry, out _) == InsertResult.Inserted)
                    {
                        live.Enqueue(entry);
                    }
                }
                else if (live.Count > 0)
                {
                    table.Remove(live.Dequeue());
                }
            }

            Volatile.Write(ref writerDone, true);
        });

        var passes = new int[2];
        Thread[] readers = [.. Enumerable.Range(0, 2).Select(r => new Thread(() =>
        {
            start.SignalAndWait();
            // Bounded by passes, not time: at least MinPasses, and on until the writer is done (at most MaxPasses).
            for (int pass = 0; pass < MaxPasses && (pass < MinPasses || !Volatile.Read(ref writerDone)); pass++)
            {
                passes[r]++;
                for (int i = 0; i < Fixed; i++)
                {
                    if (!table.TryLookup(in fixedKeys[i], T, out int entry, out bool reply) || entry != fixedEntries[i] || reply)
                    {
                        Fail($"original {fixedKeys[i]}: found={entry} reply={reply}, expected {fixedEntries[i]}");
                    }

                    if (!table.TryLookup(in fixedReplies[i], T, out entry, out reply) || entry != fixedEntries[i] || !reply)
                    {
                        Fail($"reply {fixedReplies[i]}: found={entry} reply={reply}, expected {fixedEntries[i]}");
                    }

                    // A tuple nobody inserted is never found, whatever the writer is doing.
                    FlowKey never = fixedKeys[i];
                    never.DestinationPort = 81;
                    if (table.TryLookup(in never, T, out entry, out _))
                    {
                        Fail($"{never} found as entry {entry}");
                    }
                }
            }
        }))];

        writer.Start();
        foreach (Thread reader in readers)
        {
            reader.Start();
        }

        Assert.True(writer.Join(TimeSpan.FromMinutes(2)));
        foreach (Thread reader in readers)
        {
            Assert.True(reader.Join(TimeSpan.FromMinutes(2)));
        }

        output.WriteLine($"readers made {passes[0]} and {passes[1]} passes of {3 * Fixed} lookups during {WriterOps} writer operations");
        Assert.True(failures == 0, $"{failures} wrong lookups; first: {firstFailure}");
        for (int i = 0; i < Fixed; i++)
        {
            Assert.True(table.TryLookup(in fixedKeys[i], T, out int entry, out _) && entry == fixedEntries[i]);
        }
    }
}
