using System.Net;
using System.Net.NetworkInformation;
using System.Text.Json;
using Dataplane.Io;
using Dataplane.Io.Netlink;
using Dataplane.Io.Netns;
using Dataplane.Io.Tap;
using Dataplane.Tests.Infrastructure;
using PacketDotNet;

namespace Dataplane.Tests.Io.Os;

/// <summary>
/// The daemon's pod plumbing, end to end. The "host" side is itself a test namespace: PodNetwork.Create runs
/// inside it (Run), so the TAP is born there rather than in the machine's real namespace, and all traffic
/// stays between the TAP fd and the pod namespace.
/// </summary>
[Trait("Category", "e2e")]
public sealed class PodNetworkTests : IDisposable
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(10);
    private static readonly PhysicalAddress s_podMac = PhysicalAddress.Parse("02-00-0A-FA-00-02");
    private static readonly PhysicalAddress s_gatewayMac = PhysicalAddress.Parse("02-00-0A-FA-00-01");
    private static readonly IPAddress s_podIp = IPAddress.Parse("10.250.0.2");
    private static readonly IPAddress s_gatewayIp = IPAddress.Parse("10.250.0.1");
    private static readonly IPAddress s_podIp6 = IPAddress.Parse("fd00:dbe::2");
    private static readonly IPAddress s_gatewayIp6 = IPAddress.Parse("fd00:dbe::1");

    private readonly TestNamespaces _test = new();
    private readonly string _hostName;
    private readonly NetworkNamespace _host;

    public PodNetworkTests()
    {
        _hostName = _test.Add();
        _host = NetworkNamespace.Open(_hostName);
    }

    public void Dispose()
    {
        _host.Dispose();
        _test.Dispose();
    }

    [RootFact]
    public void Create_makes_eth0_with_mac_mtu_addresses_and_default_routes_in_a_new_namespace()
    {
        string podName = _test.NewName();
        PodNetworkSpec spec = Spec(podName) with { IPv6 = s_podIp6, IPv6PrefixLength = 64, GatewayV6 = s_gatewayIp6 };

        using PodNetwork pod = _host.Run(() => PodNetwork.Create(spec));

        Assert.True(pod.CreatedNamespace);
        Assert.Contains(podName, TestNamespaces.ListNamespaces());
        JsonElement eth0 = TestNamespaces.IpJson("-n", podName, "addr", "show", "dev", "eth0")[0];
        Assert.Equal(pod.InterfaceIndex, eth0.GetProperty("ifindex").GetInt32());
        Assert.Equal("02:00:0a:fa:00:02", eth0.GetProperty("address").GetString());
        Assert.Equal(1400, eth0.GetProperty("mtu").GetInt32());
        Assert.Contains("UP", Flags(eth0));
        JsonElement[] addresses = eth0.GetProperty("addr_info").EnumerateArray().ToArray();
        Assert.Contains(addresses, a => a.GetProperty("family").GetString() == "inet"
            && a.GetProperty("local").GetString() == "10.250.0.2" && a.GetProperty("prefixlen").GetInt32() == 24);
        JsonElement v6 = Assert.Single(addresses, a => a.GetProperty("local").GetString() == "fd00:dbe::2");
        Assert.Equal(64, v6.GetProperty("prefixlen").GetInt32());
        Assert.False(v6.TryGetProperty("tentative", out _), "NODAD: the address must be usable at once");
        Assert.Contains("UP", Flags(TestNamespaces.IpJson("-n", podName, "link", "show", "dev", "lo")[0]));

        JsonElement route4 = Assert.Single(TestNamespaces.IpJson("-n", podName, "route", "show", "default").EnumerateArray());
        Assert.Equal("10.250.0.1", route4.GetProperty("gateway").GetString());
        Assert.Equal("eth0", route4.GetProperty("dev").GetString());
        JsonElement route6 = Assert.Single(TestNamespaces.IpJson("-n", podName, "-6", "route", "show", "default").EnumerateArray());
        Assert.Equal("fd00:dbe::1", route6.GetProperty("gateway").GetString());
        Assert.Equal("eth0", route6.GetProperty("dev").GetString());

        // The TAP left the "host" side entirely.
        Assert.Equal(["lo"], TestNamespaces.LinkNames(_hostName));
        Assert.Equal(["eth0", "lo"], TestNamespaces.LinkNames(podName).Order(StringComparer.Ordinal));
    }

    [RootFact]
    public void A_gateway_outside_the_pod_prefix_gets_an_onlink_route()
    {
        string podName = _test.NewName();
        PodNetworkSpec spec = Spec(podName) with { IPv4PrefixLength = 32, GatewayV4 = IPAddress.Parse("169.254.1.1") };

        using PodNetwork pod = _host.Run(() => PodNetwork.Create(spec));

        JsonElement route = Assert.Single(TestNamespaces.IpJson("-n", podName, "route", "show", "default").EnumerateArray());
        Assert.Equal("169.254.1.1", route.GetProperty("gateway").GetString());
        Assert.Contains("onlink", Flags(route));
    }

    [RootFact]
    public void Dispose_removes_the_tap_and_the_namespace_it_created()
    {
        string podName = _test.NewName();
        PodNetwork pod = _host.Run(() => PodNetwork.Create(Spec(podName)));
        Assert.Contains(podName, TestNamespaces.ListNamespaces());

        pod.Dispose();

        Assert.DoesNotContain(podName, TestNamespaces.ListNamespaces());
        Assert.Equal(["lo"], TestNamespaces.LinkNames(_hostName));
        Assert.True(pod.Tap.Fd.IsClosed);
    }

    [RootFact]
    public void Dispose_keeps_a_namespace_it_did_not_create_but_removes_the_tap_from_it()
    {
        string podName = _test.Add();
        PodNetworkSpec spec = Spec($"/var/run/netns/{podName}"); // by path this time
        PodNetwork pod = _host.Run(() => PodNetwork.Create(spec));
        Assert.False(pod.CreatedNamespace);
        Assert.Contains("eth0", TestNamespaces.LinkNames(podName));

        pod.Dispose();

        Assert.Contains(podName, TestNamespaces.ListNamespaces());
        Poll.Until(() => TestNamespaces.LinkNames(podName).SequenceEqual(["lo"]), s_timeout, "eth0 to leave the pod namespace when its TAP fd closed");
        Assert.Equal(["lo"], TestNamespaces.LinkNames(_hostName));
    }

    [RootFact]
    public void A_failure_at_the_route_step_undoes_the_tap_and_the_new_namespace()
    {
        string podName = _test.NewName();
        // A multicast gateway passes our argument checks and the address steps, and the kernel refuses the route.
        PodNetworkSpec spec = Spec(podName) with { GatewayV4 = IPAddress.Parse("224.0.0.1") };

        var e = Assert.Throws<NetlinkException>(() => _host.Run(() => PodNetwork.Create(spec)));

        Assert.Contains("add route default via 224.0.0.1", e.Message, StringComparison.Ordinal);
        Assert.Contains(podName, e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(podName, TestNamespaces.ListNamespaces());
        Assert.False(File.Exists($"/var/run/netns/{podName}"));
        Assert.Equal(["lo"], TestNamespaces.LinkNames(_hostName));
    }

    [RootFact]
    public void A_failure_in_an_existing_namespace_leaves_it_as_it_was()
    {
        string podName = _test.Add();
        PodNetworkSpec spec = Spec(podName) with { GatewayV4 = IPAddress.Parse("224.0.0.1") };

        Assert.Throws<NetlinkException>(() => _host.Run(() => PodNetwork.Create(spec)));

        Assert.Contains(podName, TestNamespaces.ListNamespaces());
        Poll.Until(() => TestNamespaces.LinkNames(podName).SequenceEqual(["lo"]), s_timeout, "the half-configured eth0 to be gone");
        Assert.Equal(["lo"], TestNamespaces.LinkNames(_hostName));
    }

    [RootFact]
    public void A_pod_whose_eth0_is_already_taken_is_refused_and_nothing_is_left()
    {
        string podName = _test.Add();
        using (NetworkNamespace ns = NetworkNamespace.Open(podName))
        using (RtNetlink net = ns.OpenNetlink())
        {
            net.CreateBridge("eth0");
        }

        // The TAP is made inside the pod's namespace under its final name: the kernel refuses the taken name at once.
        var e = Assert.Throws<ErrnoException>(() => _host.Run(() => PodNetwork.Create(Spec(podName))));

        Assert.Equal(Errno.EBUSY, e.Errno);
        Assert.Contains("eth0", e.Message, StringComparison.Ordinal);
        Assert.Equal(["eth0", "lo"], TestNamespaces.LinkNames(podName).Order(StringComparer.Ordinal));
        Assert.Equal("bridge", TestNamespaces.IpJson("-n", podName, "-d", "link", "show", "dev", "eth0")[0]
            .GetProperty("linkinfo").GetProperty("info_kind").GetString());
        Assert.Equal(["lo"], TestNamespaces.LinkNames(_hostName));
    }

    [RootFact]
    public async Task The_pods_arp_for_its_gateway_reaches_the_tap_and_our_reply_fills_its_neighbor_table()
    {
        string podName = _test.NewName();
        using PodNetwork pod = _host.Run(() => PodNetwork.Create(Spec(podName)));

        Task<ProcessResult> ping = TestNamespaces.ExecAsync(podName, s_timeout, "ping", "-c1", "-W1", s_gatewayIp.ToString());
        byte[] frame = FrameWaiter.ReadUntil(pod.Tap.Fd, pod.Tap.Read, IsArpRequestForGateway, s_timeout, "ARP request for the gateway");
        pod.Tap.Write(ArpReply());
        await ping;

        var arp = Packet.ParsePacket(LinkLayers.Ethernet, frame).Extract<ArpPacket>();
        Assert.Equal(s_podMac, arp.SenderHardwareAddress);
        Assert.Equal(s_podIp, arp.SenderProtocolAddress);
        Poll.Until(() => GatewayNeighbor(podName) == "02:00:0a:fa:00:01", s_timeout, "the pod to learn the gateway's MAC from our ARP reply");
    }

    [RootFact]
    public async Task With_a_vnet_header_every_frame_on_the_fd_starts_with_the_virtio_header()
    {
        string podName = _test.NewName();
        PodNetworkSpec spec = Spec(podName) with { Tap = new TapOptions { VnetHeader = true, Offloads = TapOffloads.Checksum | TapOffloads.Tso4 | TapOffloads.Tso6 } };
        using PodNetwork pod = _host.Run(() => PodNetwork.Create(spec));
        int size = pod.Tap.VnetHeaderSize;
        Assert.Equal(VirtioNetHeader.Size, size);

        Task<ProcessResult> ping = TestNamespaces.ExecAsync(podName, s_timeout, "ping", "-c1", "-W1", s_gatewayIp.ToString());
        // Poison the buffer first, so a zero num_buffers below is the kernel's doing, not a fresh buffer's.
        byte[] frame = FrameWaiter.ReadUntil(
            pod.Tap.Fd,
            buffer =>
            {
                buffer.Fill(0xAA);
                return pod.Tap.Read(buffer);
            },
            f => f.Length > size && IsArpRequestForGateway(f[size..]),
            s_timeout,
            "ARP request (after a virtio-net header)");
        // Writes need the header too: a zero header says "plain frame, nothing to finish". writev keeps it
        // separate from the frame.
        byte[] reply = ArpReply();
        byte[] header0 = new byte[size];
        Assert.True(VirtioNetHeader.None.TryWrite(header0, size));
        Assert.Equal(size + reply.Length, pod.Tap.Write(header0, reply));
        await ping;

        Assert.True(VirtioNetHeader.TryRead(frame, size, out VirtioNetHeader header));
        Assert.Equal(VirtioNetHeader.GsoNone, header.GsoType);
        Assert.False(header.NeedsChecksum);
        Assert.Equal(0, header.HdrLen);
        Assert.Equal(0, header.CsumStart);
        // Past struct virtio_net_hdr (10 bytes) recent kernels zero the padding (6.18 here); older ones skip it,
        // leaving whatever the buffer held. Either way it carries nothing.
        Assert.True(header.NumBuffers is 0 or 0xAAAA, $"num_buffers {header.NumBuffers:x}");
        Poll.Until(() => GatewayNeighbor(podName) == "02:00:0a:fa:00:01", s_timeout, "the pod to learn the gateway's MAC from a header-prefixed write");
    }

    private static PodNetworkSpec Spec(string ns) => new()
    {
        Namespace = ns,
        Mac = s_podMac,
        Mtu = 1400,
        IPv4 = s_podIp,
        IPv4PrefixLength = 24,
        GatewayV4 = s_gatewayIp,
    };

    private static IEnumerable<string?> Flags(JsonElement element) =>
        element.TryGetProperty("flags", out JsonElement flags) ? flags.EnumerateArray().Select(f => f.GetString()) : [];

    private static bool IsArpRequestForGateway(byte[] frame)
    {
        if (Packet.ParsePacket(LinkLayers.Ethernet, frame) is not EthernetPacket { Type: EthernetType.Arp } eth)
        {
            return false;
        }

        var arp = eth.Extract<ArpPacket>();
        return arp.Operation == ArpOperation.Request && arp.TargetProtocolAddress.Equals(s_gatewayIp) && eth.SourceHardwareAddress.Equals(s_podMac);
    }

    /// <summary>The gateway answering the pod: 10.250.0.1 is at 02:00:0a:fa:00:01.</summary>
    private static byte[] ArpReply()
    {
        var arp = new ArpPacket(ArpOperation.Response, s_podMac, s_podIp, s_gatewayMac, s_gatewayIp);
        var eth = new EthernetPacket(s_gatewayMac, s_podMac, EthernetType.Arp) { PayloadPacket = arp };
        return eth.Bytes;
    }

    private static string? GatewayNeighbor(string podName)
    {
        JsonElement neighbors = TestNamespaces.IpJson("-n", podName, "neigh", "show", "dev", "eth0");
        foreach (JsonElement n in neighbors.EnumerateArray())
        {
            if (n.GetProperty("dst").GetString() == "10.250.0.1" && n.TryGetProperty("lladdr", out JsonElement mac))
            {
                return mac.GetString();
            }
        }

        return null;
    }
}
