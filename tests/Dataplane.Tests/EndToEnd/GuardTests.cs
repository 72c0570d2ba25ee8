using System.Buffers.Binary;
using System.Net;
using Dataplane.Io.RawSocket;
using Dataplane.Tests.Infrastructure;
using System.Runtime.Versioning;

namespace Dataplane.Tests.EndToEnd;

/// <summary>
/// What a misbehaving pod cannot do: send with another pod's address, or get malformed frames past the input
/// stages. Pods: `a` (the misbehaving one), `v` (whose address `a` steals) and `t` (the target).
/// </summary>
[SupportedOSPlatform("linux")]
[Trait("Category", "e2e")]
public sealed class GuardTests : IClassFixture<GuardTests.Node>
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(30);
    private readonly NodeUnderTest _node;

    public GuardTests(Node fixture) => _node = fixture.Value;

    public sealed class Node : IDisposable
    {
        public NodeUnderTest Value { get; } = NodeUnderTest.Start(new NodeOptions { Pods = ["a", "v", "t"] });

        public void Dispose() => Value.Dispose();
    }

    [RootFact]
    public async Task A_pod_sending_with_another_pods_address_gets_nothing_through_and_is_counted()
    {
        PodInfo a = _node.Pod("a"), v = _node.Pod("v"), t = _node.Pod("t");
        using PacketSocket observer = _node.InNamespace("t", () => PacketSocket.Open("eth0"));
        // The same ping with a's own address works and is seen at t: the path and the observer are sound.
        ProcessResult honest = await _node.ExecInPodAsync("a", s_timeout, "ping", "-c", "2", "-i", "0.2", "-W", "2", t.Ip);
        Assert.True(honest.ExitCode == 0, $"a -> t with its own address: {honest.StdOut}{honest.StdErr}");
        long spoofedBefore = _node.Counter("source-guard", "spoofed-ip4");

        // a takes v's address as a second one and pings t from it. A permanent neighbour entry for t means a's
        // kernel sends the echo requests at once, instead of an ARP request from v's address (caught as spoofed-arp).
        _node.ExecInPod("a", "ip", "addr", "add", $"{v.Ip}/32", "dev", "eth0").EnsureSuccess();
        try
        {
            _node.ExecInPod("a", "ip", "neigh", "replace", t.Ip, "lladdr", t.Mac, "dev", "eth0", "nud", "permanent").EnsureSuccess();
            ProcessResult spoofed = await _node.ExecInPodAsync("a", s_timeout, "ping", "-c", "5", "-i", "0.2", "-W", "1", "-I", v.Ip, t.Ip);

            Assert.True(spoofed.ExitCode != 0 && spoofed.StdOut.Contains(" 0 received", StringComparison.Ordinal), $"the spoofed ping got replies: {spoofed.StdOut}{spoofed.StdErr}");
        }
        finally
        {
            _node.ExecInPod("a", "ip", "addr", "del", $"{v.Ip}/32", "dev", "eth0");
            _node.ExecInPod("a", "ip", "neigh", "del", t.Ip, "dev", "eth0");
        }

        List<byte[]> seenAtTarget = FrameWaiter.Drain(observer.Fd, observer.Read, TimeSpan.FromMilliseconds(300));
        Assert.Contains(seenAtTarget, f => IsIcmpEchoRequest(f, a.Ip, t.Ip));
        Assert.DoesNotContain(seenAtTarget, f => Ipv4Source(f) == v.Ip);
        Assert.True(_node.Counter("source-guard", "spoofed-ip4") - spoofedBefore >= 5, $"spoofed-ip4 did not count the 5 spoofed echo requests{Environment.NewLine}{_node.DaemonOutput()}");
    }

    [RootFact]
    public async Task Malformed_frames_from_a_pod_are_dropped_and_counted_while_its_other_traffic_flows()
    {
        PodInfo a = _node.Pod("a"), t = _node.Pod("t");
        const int Each = 5;
        // The kernel refuses to transmit a frame shorter than an Ethernet header (AF_PACKET returns EINVAL,
        // dev_validate_header), so the shortest truncated header a pod can produce is a 14-byte frame whose
        // EtherType announces a VLAN tag that is not there.
        (string Stage, string Counter, byte[] Frame)[] cases =
        [
            ("ethernet-input", "truncated", Ethernet(a.Mac, 0x8100, [])),
            ("ip4-input", "truncated", Ethernet(a.Mac, 0x0800, Ipv4(a.Ip, t.Ip, protocol: 17, payload: new byte[8])[..10])),
            ("ip4-input", "total-length-beyond-frame", Ethernet(a.Mac, 0x0800, Ipv4(a.Ip, t.Ip, 17, new byte[8], totalLength: 1000))),
            ("ip4-input", "header-length-too-small", Ethernet(a.Mac, 0x0800, Ipv4(a.Ip, t.Ip, 17, new byte[8], versionIhl: 0x44))),
            ("ip4-input", "bad-checksum", Ethernet(a.Mac, 0x0800, Ipv4(a.Ip, t.Ip, 17, new byte[8], corruptChecksum: true))),
            // A UDP header whose length claims 100 bytes in an 8-byte datagram.
            ("ip4-input", "l4-truncated", Ethernet(a.Mac, 0x0800, Ipv4(a.Ip, t.Ip, 17, Udp(length: 100)))),
        ];
        long[] before = [.. cases.Select(c => _node.Counter(c.Stage, c.Counter))];
        using PacketSocket injector = _node.InNamespace("a", () => PacketSocket.Open("eth0", new PacketSocketOptions { Promiscuous = false }));

        Task<ProcessResult> ping = _node.ExecInPodAsync("a", s_timeout, "ping", "-c", "30", "-i", "0.05", "-W", "2", t.Ip);
        for (int round = 0; round < Each; round++)
        {
            foreach ((string stage, string counter, byte[] frame) in cases)
            {
                Assert.True(injector.Write(frame) == frame.Length, $"writing the {stage} {counter} frame into the TAP failed");
            }

            await Task.Delay(50);
        }

        ProcessResult result = await ping;
        Assert.True(result.ExitCode == 0 && result.StdOut.Contains("30 received", StringComparison.Ordinal), $"the concurrent ping lost packets: {result.StdOut}{result.StdErr}{Environment.NewLine}{_node.DaemonOutput()}");
        for (int i = 0; i < cases.Length; i++)
        {
            (string stage, string counter, _) = cases[i];
            long expected = before[i] + Each;
            long now = 0;
            Poll.Until(() => (now = _node.Counter(stage, counter)) >= expected, s_timeout, $"{stage} {counter} to reach {expected}");
            Assert.True(now == expected, $"{stage} {counter}: {now - before[i]} drops for {Each} frames");
        }
    }

    private static byte[] Ethernet(string sourceMac, ushort etherType, byte[] payload)
    {
        byte[] frame = new byte[14 + payload.Length];
        Convert.FromHexString(NodeUnderTest.GatewayMac.Replace(":", "", StringComparison.Ordinal)).CopyTo(frame, 0);
        Convert.FromHexString(sourceMac.Replace(":", "", StringComparison.Ordinal)).CopyTo(frame, 6);
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(12), etherType);
        payload.CopyTo(frame, 14);
        return frame;
    }

    private static byte[] Ipv4(string source, string destination, byte protocol, byte[] payload, int? totalLength = null, byte versionIhl = 0x45, bool corruptChecksum = false)
    {
        byte[] packet = new byte[20 + payload.Length];
        packet[0] = versionIhl;
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(2), (ushort)(totalLength ?? packet.Length));
        packet[8] = 64;
        packet[9] = protocol;
        IPAddress.Parse(source).GetAddressBytes().CopyTo(packet, 12);
        IPAddress.Parse(destination).GetAddressBytes().CopyTo(packet, 16);
        ushort checksum = HeaderChecksum(packet.AsSpan(0, 20));
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(10), corruptChecksum ? (ushort)~checksum : checksum);
        payload.CopyTo(packet, 20);
        return packet;
    }

    private static byte[] Udp(ushort length)
    {
        byte[] udp = new byte[8];
        BinaryPrimitives.WriteUInt16BigEndian(udp, 40000);
        BinaryPrimitives.WriteUInt16BigEndian(udp.AsSpan(2), 9);
        BinaryPrimitives.WriteUInt16BigEndian(udp.AsSpan(4), length);
        return udp;
    }

    private static ushort HeaderChecksum(ReadOnlySpan<byte> header)
    {
        uint sum = 0;
        for (int i = 0; i < header.Length; i += 2)
        {
            sum += BinaryPrimitives.ReadUInt16BigEndian(header[i..]);
        }

        while (sum > 0xFFFF)
        {
            sum = (sum & 0xFFFF) + (sum >> 16);
        }

        return (ushort)~sum;
    }

    private static string? Ipv4Source(byte[] frame) =>
        frame.Length >= 34 && BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(12)) == 0x0800 ? new IPAddress(frame.AsSpan(26, 4)).ToString() : null;

    private static bool IsIcmpEchoRequest(byte[] frame, string source, string destination) =>
        frame.Length > 34 && Ipv4Source(frame) == source && frame[23] == 1 && new IPAddress(frame.AsSpan(30, 4)).ToString() == destination && frame[34] == 8;
}
