using Dataplane.Conntrack;
using Dataplane.Packets;

namespace Dataplane.Tests.Conntrack;

/// <summary>
/// <see cref="ConntrackTable.Restore"/>: a new table over an earlier table's memory (what a restarted daemon maps)
/// takes over the live, whole entries and frees the rest, with the index rebuilt from the entries alone.
/// </summary>
[Trait("Category", "unit")]
public class ConntrackRestoreTests
{
    private const long T = 1_000_000_000_000;
    private const long Lifetime = 432_000L * 1_000_000_000; // five days, the TCP established timeout

    private static ConntrackTable Table(ConntrackMemory memory) => new(memory.Capacity, ConntrackTableTests.Gateway4, ConntrackTableTests.Gateway6, memory.Accounting, memory: memory);

    /// <summary>An established, answered flow: never early-dropped, so a full table refuses rather than evicts.</summary>
    private static FlowEntry Answered(FlowEntry flow)
    {
        flow.TcpState = TcpState.Established;
        flow.Flags |= FlowFlags.SeenReply;
        return flow;
    }

    private static FlowKey Key(string src, ushort sport, string dst, ushort dport) => new(IpAddress.Parse(src), IpAddress.Parse(dst), sport, dport, IpProtocol.Tcp);

    [Fact]
    public void Live_flows_are_found_again_from_both_directions_and_expired_torn_and_implausible_entries_are_freed()
    {
        ConntrackMemory memory = ConntrackMemory.Anonymous(256, accounting: false);
        ConntrackTable before = Table(memory);
        for (ushort port = 40000; port < 40010; port++)
        {
            FlowEntry flow = Answered(ConntrackTableTests.ServiceFlow("10.244.1.20", port, "10.96.0.10", 80, "10.244.2.12", 8080, T + 1_000_000_000));
            Assert.Equal(InsertResult.Inserted, before.FindOrInsert(in flow, T, allowPortRemap: true, out _, out _));
        }

        Assert.True(before.TryLookup(Key("10.244.1.20", 40001, "10.96.0.10", 80), T, out int expired, out _));
        before.Entry(expired).Expires = T - 1; // ended while no daemon ran
        Assert.True(before.TryLookup(Key("10.244.1.20", 40002, "10.96.0.10", 80), T, out int torn, out _));
        before.Entry(torn).Version |= 1; // the writer died mid-rewrite
        Assert.True(before.TryLookup(Key("10.244.1.20", 40003, "10.96.0.10", 80), T, out int far, out _));
        before.Entry(far).Expires = T + (2 * Lifetime); // no deadline this table writes

        ConntrackTable after = Table(memory);
        ConntrackRestore restore = after.Restore(T, Lifetime);

        Assert.Equal(new ConntrackRestore(7, 1, 2), restore);
        Assert.Equal(7, after.Count);
        Assert.True(after.TryLookup(Key("10.244.1.20", 40000, "10.96.0.10", 80), T, out int entry, out bool reply));
        Assert.False(reply);
        Assert.True(after.TryLookup(Key("10.244.2.12", 8080, "10.244.1.20", 40000), T, out int replyEntry, out reply));
        Assert.True(reply);
        Assert.Equal(entry, replyEntry);
        Assert.False(after.TryLookup(Key("10.244.1.20", 40001, "10.96.0.10", 80), T, out _, out _));
        Assert.False(after.TryLookup(Key("10.244.1.20", 40002, "10.96.0.10", 80), T, out _, out _));
        Assert.False(after.TryLookup(Key("10.244.1.20", 40003, "10.96.0.10", 80), T, out _, out _));

        // The freed entries are free: the table fills to its capacity and no further, never overwriting a restored flow.
        int added = 0;
        for (ushort port = 50000; added < 300; port++, added++)
        {
            FlowEntry flow = Answered(ConntrackTableTests.ServiceFlow("10.244.1.30", port, "10.96.0.10", 80, "10.244.2.12", 8080, T + 1_000_000_000));
            if (after.FindOrInsert(in flow, T, allowPortRemap: true, out _, out _) == InsertResult.Full)
            {
                break;
            }
        }

        Assert.Equal(256 - 7, added);
        Assert.True(after.TryLookup(Key("10.244.1.20", 40009, "10.96.0.10", 80), T, out _, out _));
    }

    [Fact]
    public void Service_flows_are_counted_again_for_the_backend_they_have_now_or_marked_released_when_it_is_gone()
    {
        ConntrackMemory memory = ConntrackMemory.Anonymous(64, accounting: true);
        ConntrackTable before = Table(memory);
        FlowEntry kept = ConntrackTableTests.ServiceFlow("10.244.1.20", 40000, "10.96.0.10", 80, "10.244.2.12", 8080, T + 1_000_000_000);
        FlowEntry gone = ConntrackTableTests.ServiceFlow("10.244.1.20", 40001, "10.96.0.10", 80, "10.244.2.13", 8080, T + 1_000_000_000);
        Assert.Equal(InsertResult.Inserted, before.FindOrInsert(in kept, T, true, out int keptEntry, out _));
        Assert.Equal(InsertResult.Inserted, before.FindOrInsert(in gone, T, true, out _, out _));
        before.Account(keptEntry, reply: false, 1500);

        var ended = new List<int>();
        ConntrackTable after = Table(memory);
        after.ServiceFlowEnded = flow => ended.Add(flow.BackendId);
        IpAddress stillThere = IpAddress.Parse("10.244.2.12");
        ConntrackRestore restore = after.Restore(T, Lifetime, flow => new IpAddress(new Ip6Address(flow.NatHi, flow.NatLo)) == stillThere ? 42 : -1);

        Assert.Equal(2, restore.Restored);
        Assert.True(after.TryLookup(Key("10.244.1.20", 40000, "10.96.0.10", 80), T, out int k, out _));
        Assert.Equal(42, after.Entry(k).BackendId);
        Assert.Equal(1500, after.Counters(k)!.Value.OriginalBytes); // accounting survives too
        Assert.True(after.TryLookup(Key("10.244.1.20", 40001, "10.96.0.10", 80), T, out int g, out _));
        Assert.NotEqual(FlowFlags.None, after.Entry(g).Flags & FlowFlags.Released);

        after.Remove(k);
        after.Remove(g);
        Assert.Equal([42], ended); // the gone backend's flow releases nothing
    }
}

/// <summary>
/// <see cref="NodeDataplane.RestoreFlows"/>: a restarted node over the same conntrack memory counts each restored
/// service flow for its backend again (leastconn) and pins its client to it again (ClientIP affinity).
/// </summary>
[Trait("Category", "unit")]
public class NodeRestoreTests
{
    private const string AffineWeb = """
          - name: web
            clusterIP: 10.96.0.10
            sessionAffinity: ClientIP
            ports: [ { name: http, protocol: TCP, port: 80, targetPort: 8080 } ]
            endpoints: [ { ip: 10.244.1.11 }, { ip: 10.244.2.12 } ]
        """;

    [Fact]
    public void A_restored_service_flow_counts_for_its_backend_and_its_client_sticks_to_it()
    {
        Dataplane.Model.NodeConfig config = Nat.Config(AffineWeb);
        ConntrackMemory memory = ConntrackMemory.Anonymous(config.Conntrack.MaxEntries, config.Conntrack.Accounting);
        var before = new NodeDataplane(config, conntrackMemory: memory);
        long now = Nat.T0;
        var key = new Dataplane.Tables.ServiceKey(IpAddress.Parse("10.96.0.10").Bits, Dataplane.Model.L4Protocol.Tcp, 80);
        IpAddress client = IpAddress.Parse("10.244.1.20");
        FlowEntry flow = ConntrackTableTests.ServiceFlow("10.244.1.20", 40000, "10.96.0.10", 80, "10.244.2.12", 8080, now + (60 * Nat.Second));
        flow.TcpState = TcpState.Established;
        Assert.Equal(InsertResult.Inserted, before.Conntrack.FindOrInsert(in flow, now, true, out _, out _));

        var after = new NodeDataplane(config, conntrackMemory: memory);
        ConntrackRestore restore = after.RestoreFlows(now);

        Assert.Equal(1, restore.Restored);
        Assert.True(after.Services.TryLookup(in key, out Dataplane.Tables.ServicePort? port));
        int remote = port.IndexOfStableId(port.Backends.ToArray().Single(b => b.Ip == IpAddress.Parse("10.244.2.12")).StableId);
        Assert.Equal(1, port.OpenConnections(remote));
        for (uint hash = 0; hash < 64; hash++)
        {
            // Whatever the new flow's hash, the client's affinity sends it where its restored flow went.
            Assert.True(port.TryPickBackend(hash * 0x9E3779B9u, in client, now + Nat.Second, out Dataplane.Tables.Backend picked));
            Assert.Equal(IpAddress.Parse("10.244.2.12"), picked.Ip);
        }
    }
}
