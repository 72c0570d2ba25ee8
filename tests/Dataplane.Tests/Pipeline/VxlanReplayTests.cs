using Dataplane.Replay;
using Dataplane.Tests.Io;

namespace Dataplane.Tests.Pipeline;

/// <summary>
/// `dataplane replay` of a VXLAN node from capture files: what leaves the uplink decodes in tshark as VXLAN (port 8472)
/// with every outer and inner checksum right, and the peer's VXLAN reaches the pod.
/// </summary>
[Trait("Category", "replay")]
public sealed class VxlanReplayTests
{
    private const long Millisecond = 1_000_000;

    [Fact]
    public void Replayed_vxlan_traffic_decodes_in_tshark_with_valid_checksums()
    {
        using var dir = new TempDirectory();
        string client = dir.File("in-client.pcap");
        string uplink = dir.File("in-uplink.pcap");
        byte[][] fromClient =
        [
            Frames.Udp4(VxlanNode.ClientMac, VxlanNode.GatewayMac, VxlanNode.ClientIp, VxlanNode.RemotePodIp, 5000, 6000, data: new byte[200]),
            Frames.Tcp4(VxlanNode.ClientMac, VxlanNode.GatewayMac, VxlanNode.ClientIp, VxlanNode.RemotePodIp, 40000, 80, syn: true),
            Frames.Icmp4Echo(VxlanNode.ClientMac, VxlanNode.GatewayMac, VxlanNode.ClientIp, VxlanNode.RemotePodIp),
            Frames.Udp6(VxlanNode.ClientMac, VxlanNode.GatewayMac, VxlanNode.ClientIp6, VxlanNode.RemotePodIp6, 5001, 6001, data: new byte[99]),
        ];
        byte[][] fromUplink =
        [
            VxlanNode.PeerArpReply(),
            VxlanNode.FromPeer(Frames.Udp4(VxlanNode.PeerVtepMac, VxlanNode.OurVtepMac, VxlanNode.RemotePodIp, VxlanNode.ClientIp, 6000, 5000, ttl: 63)),
            VxlanNode.FromPeer(Frames.Udp4(VxlanNode.PeerVtepMac, VxlanNode.OurVtepMac, VxlanNode.RemotePodIp, VxlanNode.ClientIp, 6000, 5000, ttl: 63), vni: 42),
        ];
        // The ARP reply first (at 0 ms), the client's frames after it.
        ReplayFiles.WritePcap(uplink, fromUplink.Select((f, i) => (PipelineHarness.T0 + (i * 10 * Millisecond), f)));
        ReplayFiles.WritePcap(client, fromClient.Select((f, i) => (PipelineHarness.T0 + (((i * 10) + 5) * Millisecond), f)));

        ReplaySummary? summary = ReplayRun.Run(VxlanNode.Config(), [new ReplayInput("client", client), new ReplayInput("uplink", uplink)], dir.File("out"), 4, trace: null, out string? error);

        Assert.Null(error);
        Assert.NotNull(summary);
        string uplinkOut = Path.Combine(dir.File("out"), "uplink.pcap");
        Assert.Equal(fromClient.Length, ReplayFiles.ReadPcap(uplinkOut).Count);
        Assert.Single(ReplayFiles.ReadPcap(Path.Combine(dir.File("out"), "client.pcap")));

        (int exit, string vxlan, string stderr) = ReplayFiles.RunTshark("-r", uplinkOut, "-d", "udp.port==8472,vxlan", "-T", "fields", "-e", "vxlan.vni", "-e", "ip.src", "-e", "ipv6.src");
        Assert.True(exit == 0, stderr);
        Assert.Equal(fromClient.Length, vxlan.Split('\n', StringSplitOptions.RemoveEmptyEntries).Count(static l => l.StartsWith("1\t192.168.77.10,10.244.1.20", StringComparison.Ordinal) || l.StartsWith("1\t192.168.77.10\tfd00:10:244:1::20", StringComparison.Ordinal)));
        (exit, string bad, stderr) = ReplayFiles.RunTshark("-r", uplinkOut, "-d", "udp.port==8472,vxlan", "-o", "ip.check_checksum:TRUE", "-o", "tcp.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE",
            "-Y", "ip.checksum.status==\"Bad\" || tcp.checksum.status==\"Bad\" || udp.checksum.status==\"Bad\" || icmp.checksum.status==\"Bad\"");
        Assert.True(exit == 0, stderr);
        Assert.Equal("", bad);
    }
}
