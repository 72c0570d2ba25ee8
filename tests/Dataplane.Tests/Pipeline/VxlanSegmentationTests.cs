using System.Buffers.Binary;
using Dataplane.Nodes;
using Dataplane.Pipeline;

namespace Dataplane.Tests.Pipeline;

/// <summary>
/// A TCP super-frame from a pod's TAP (virtio GSO TCPV4, partial checksum) routed over VXLAN is cut into MSS-sized
/// segments, each a whole VXLAN packet with valid checksums, sent one by one from its own slot, without allocating.
/// </summary>
[Trait("Category", "unit")]
public sealed class VxlanSegmentationTests
{
    private const int Mss = 1398;

    private readonly struct ListSink(PortTable ports, List<Sent> sent) : ITransmitSink
    {
        public bool Send(ushort port, PacketBatch batch, ushort packet)
        {
            sent?.Add(new Sent(ports[port]!.Name, batch.Frame(packet).ToArray()));
            return true;
        }
    }

    private static (NodeDataplane Dataplane, Graph Graph) Node()
    {
        var dataplane = new NodeDataplane(VxlanNode.Config());
        var batch = new PacketBatch(4, slotSize: PacketBatch.DefaultHeadroom + 65536 + 256 + VxlanEncap.SegmentationRoom);
        Graph graph = dataplane.CreateGraph(batch);
        dataplane.TryGetPort("uplink", out Port uplink);
        Assert.True(batch.TryAdd(VxlanNode.PeerArpReply(), uplink.Id, PipelineHarness.T0));
        Run(graph, dataplane.Ports, null);
        return (dataplane, graph);
    }

    private static void Run(Graph graph, PortTable ports, List<Sent>? sent)
    {
        graph.Run();
        var sink = new ListSink(ports, sent!);
        graph.Flush(ref sink);
        graph.Batch.Clear();
    }

    /// <summary>Adds the super-frame as a TAP with offloads delivers it: the virtio-net header in the headroom in front.</summary>
    private static void AddSuperFrame(Graph graph, ushort port, byte[] frame, int mss)
    {
        PacketBatch batch = graph.Batch;
        Assert.True(batch.TryAdd(frame, port, PipelineHarness.T0 + 1));
        int p = batch.Count - 1;
        ref PacketMeta meta = ref batch.Meta(p);
        meta.Flags |= PacketFlags.Offloaded | PacketFlags.ChecksumPartial;
        Span<byte> header = batch.FrameWithPrefix(p, OffloadHeader.Size);
        header.Slice(0, OffloadHeader.Size).Clear();
        header[0] = OffloadHeader.FlagNeedsCsum;
        header[1] = OffloadHeader.GsoTcpV4;
        BinaryPrimitives.WriteUInt16LittleEndian(header.Slice(2), 14 + 20 + 20);
        BinaryPrimitives.WriteUInt16LittleEndian(header.Slice(4), (ushort)mss);
        BinaryPrimitives.WriteUInt16LittleEndian(header.Slice(6), 14 + 20);
        BinaryPrimitives.WriteUInt16LittleEndian(header.Slice(8), 16);
    }

    private static byte[] SuperFrame(byte[] payload, uint seq) =>
        Build.Patch(Frames.Tcp4(VxlanNode.ClientMac, VxlanNode.GatewayMac, VxlanNode.ClientIp, VxlanNode.RemotePodIp, 40000, 5201, ack: true, seq: seq, ackNumber: 77, data: payload),
            14 + 20 + 13, 0x18); // ACK|PSH, as the kernel sends a super-frame's last byte

    [Fact]
    public void Tcp_super_frame_to_a_vxlan_route_leaves_as_mss_sized_vxlan_packets()
    {
        (NodeDataplane dataplane, Graph graph) = Node();
        dataplane.TryGetPort("client", out Port client);
        byte[] payload = new byte[60000];
        new Random(7).NextBytes(payload);
        AddSuperFrame(graph, client.Id, SuperFrame(payload, 1_000_000), Mss);
        var sent = new List<Sent>();

        Run(graph, dataplane.Ports, sent);

        int segments = (payload.Length + Mss - 1) / Mss;
        Assert.Equal(segments, sent.Count);
        Assert.All(sent, static s => Assert.Equal("uplink", s.Port));
        var reassembled = new List<byte>();
        ushort sourcePort = BinaryPrimitives.ReadUInt16BigEndian(sent[0].Frame.AsSpan(34));
        ushort firstId = BinaryPrimitives.ReadUInt16BigEndian(sent[0].Frame.AsSpan(18));
        for (int k = 0; k < segments; k++)
        {
            byte[] frame = sent[k].Frame;
            FrameAssert.ChecksumsValid(frame);
            FrameAssert.ChecksumsValid(frame[50..]);
            Assert.True(frame.Length - 14 <= 1500, $"segment {k}: outer packet of {frame.Length - 14} bytes over the uplink MTU");
            Assert.Equal(sourcePort, BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(34)));
            Assert.Equal((ushort)(firstId + k), BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(18)));
            Assert.Equal(0, BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(40)));
            byte[] inner = frame[50..];
            Assert.Equal(VxlanNode.PeerVtepMac, new Dataplane.Packets.MacAddress(BinaryPrimitives.ReadUInt64BigEndian([0, 0, .. inner[..6]])).ToString());
            Assert.Equal(63, inner[14 + 8]);
            Assert.Equal(1_000_000u + (uint)(k * Mss), BinaryPrimitives.ReadUInt32BigEndian(inner.AsSpan(14 + 20 + 4)));
            Assert.Equal(k == segments - 1 ? 0x18 : 0x10, inner[14 + 20 + 13]);
            reassembled.AddRange(inner[(14 + 20 + 20)..]);
        }

        Assert.Equal(payload, reassembled);
        Assert.Equal(1, graph.Node<VxlanEncap>().Counters.Events[(int)VxlanEncap.Event.SuperFramesSegmented]);
        Assert.Equal(segments, graph.PortCounters[dataplane.Ports.Uplink!.Id].TxPackets);
    }

    [Fact]
    public void Segmenting_allocates_nothing()
    {
        (NodeDataplane dataplane, Graph graph) = Node();
        dataplane.TryGetPort("client", out Port client);
        byte[] frame = SuperFrame(new byte[64000], 5);
        long least = long.MaxValue;
        for (int round = 0; round < 4; round++)
        {
            AddSuperFrame(graph, client.Id, frame, Mss);
            long before = GC.GetAllocatedBytesForCurrentThread();
            Run(graph, dataplane.Ports, null);
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            if (round > 0)
            {
                least = Math.Min(least, allocated);
            }
        }

        Assert.Equal(0, least);
    }
}
