using Dataplane.Config;
using Dataplane.Model;
using Dataplane.Tests.Pipeline;
using PacketDotNet;
using static Dataplane.Tests.Conntrack.Nat;
using static Dataplane.Tests.Pipeline.TestNode;

namespace Dataplane.Tests.Conntrack;

/// <summary>
/// ICMP errors about a NATed flow are translated, quoted datagram included, so the sender's stack can match them
/// to its socket (path-MTU discovery through a VIP). Expected frames are the errors a node would have sent had there
/// been no NAT, built independently; the outer ICMP checksum, the quoted IP header checksum and the quoted L4
/// checksum (when quoted) must all come out right.
/// </summary>
[Trait("Category", "unit")]
public class IcmpErrorTranslationTests
{
    private const ushort ClientPort = 40000;
    private static readonly byte[] Data = [.. Enumerable.Range(0, 200).Select(static i => (byte)i)];

    /// <summary>Client -&gt; VIP:80 as the client sent it, and as it left on the uplink DNATed to the pod on node-b.</summary>
    private static byte[] ClientData(byte ttl = 64) => Tcp4(ClientMac, GatewayMac, ClientIp, Vip, ClientPort, 80, "PA", 1001, 5001, Data, ttl);

    private static byte[] UplinkData() => Tcp4(UplinkMac, NodeBMac, ClientIp, RemotePodIp, ClientPort, 8080, "PA", 1001, 5001, Data, ttl: 63);

    private static PipelineHarness Established()
    {
        var harness = Harness(RemoteWeb);
        harness.Send("client", Tcp4(ClientMac, GatewayMac, ClientIp, Vip, ClientPort, 80, "S", 1000, 0), T0);
        harness.Send("uplink", Tcp4(NodeBMac, UplinkMac, RemotePodIp, ClientIp, 8080, ClientPort, "SA", 5000, 1001), T0);
        harness.Send("client", Tcp4(ClientMac, GatewayMac, ClientIp, Vip, ClientPort, 80, "A", 1001, 5001), T0);
        AssertSent(harness.Send("client", ClientData(), T0), "uplink", UplinkData());
        return harness;
    }

    [Theory]
    [InlineData(3, 4, 1400u, true)]   // fragmentation needed, next-hop MTU 1400, whole datagram quoted (Linux quotes up to 576 bytes)
    [InlineData(3, 4, 1400u, false)]  // the same quoting only IP header + 8 bytes (RFC 792's minimum: no TCP checksum quoted)
    [InlineData(11, 0, 0u, true)]     // time exceeded in transit
    [InlineData(3, 1, 0u, true)]      // host unreachable
    public void Error_from_a_router_on_the_uplink_about_the_dnatted_flow_reaches_the_client_quoting_the_vip(byte type, byte code, uint rest, bool quoteAll)
    {
        var harness = Established();
        int quotedLength = quoteAll ? L3(UplinkData()).Length : 20 + 8;
        byte[] quoted = L3(UplinkData())[..quotedLength];
        byte[] error = Icmp4Error(NodeBMac, UplinkMac, NodeBIp, ClientIp, type, code, rest, quoted);

        // The client gets the error from the router (outer source untouched), about client:40000 > VIP:80.
        byte[] expectedQuote = L3(ClientData(ttl: 63))[..quotedLength];
        byte[] expected = Icmp4Error(GatewayMac, ClientMac, NodeBIp, ClientIp, type, code, rest, expectedQuote, ttl: 63);
        AssertSent(harness.Send("uplink", error, T0 + Second), "client", expected);
        Assert.Equal(1, harness.Event("conntrack", "icmp-errors-translated"));
    }

    [Fact]
    public void Port_unreachable_from_the_backend_itself_comes_from_the_vip()
    {
        var harness = Harness(RemoteWeb);
        byte[] sent = Udp4(UplinkMac, NodeBMac, ClientIp, RemotePodIp, 33333, 5353, Dns(false), ttl: 63);
        AssertSent(harness.Send("client", Udp4(ClientMac, GatewayMac, ClientIp, Vip, 33333, 53, Dns(false)), T0), "uplink", sent);

        byte[] error = Icmp4Error(NodeBMac, UplinkMac, RemotePodIp, ClientIp, 3, 3, 0, L3(sent), ttl: 63);
        byte[] expected = Icmp4Error(GatewayMac, ClientMac, Vip, ClientIp, 3, 3, 0, L3(Udp4(ClientMac, GatewayMac, ClientIp, Vip, 33333, 53, Dns(false), ttl: 63)), ttl: 62);
        AssertSent(harness.Send("uplink", error, T0), "client", expected);
    }

    [Fact]
    public void Error_from_the_client_about_a_reply_reaches_the_backend_quoting_what_the_backend_sent()
    {
        // A DNS answer arrives after the client closed its socket: the client's port unreachable goes to the VIP
        // and must reach web-1 as an error about web-1's own packet.
        var harness = Harness(LocalWeb);
        harness.Send("client", Udp4(ClientMac, GatewayMac, ClientIp, Vip, 33333, 53, Dns(false)), T0);
        byte[] answer = Udp4(Web1Mac, ClientMac, Web1Ip, ClientIp, 5353, 33333, Dns(true));
        byte[] received = Udp4(Web1Mac, ClientMac, Vip, ClientIp, 53, 33333, Dns(true));
        AssertSent(harness.Send("web-1", answer, T0), "client", received);

        byte[] error = Icmp4Error(ClientMac, GatewayMac, ClientIp, Vip, 3, 3, 0, L3(received));
        byte[] expected = Icmp4Error(GatewayMac, Web1Mac, ClientIp, Web1Ip, 3, 3, 0, L3(answer), ttl: 63);
        AssertSent(harness.Send("client", error, T0 + Second), "web-1", expected);
        Assert.Equal(1, harness.Event("conntrack", "icmp-errors-translated"));
    }

    [Fact]
    public void Ipv6_packet_too_big_from_the_uplink_is_translated_with_its_pseudo_header_checksum()
    {
        var harness = Harness(RemoteWeb);
        byte[] fromClient = Tcp6(ClientMac, GatewayMac, ClientIp6, Vip6, ClientPort, 80, "S", 1, 0);
        byte[] onUplink = Tcp6(UplinkMac, NodeBMac, ClientIp6, RemotePodIp6, ClientPort, 8080, "S", 1, 0, hopLimit: 63);
        AssertSent(harness.Send("client", fromClient, T0), "uplink", onUplink);

        byte[] error = Icmp6Error(NodeBMac, UplinkMac, NodeBIp6, ClientIp6, 2, 0, 1280, L3(onUplink));
        byte[] expected = Icmp6Error(GatewayMac, ClientMac, NodeBIp6, ClientIp6, 2, 0, 1280,
            L3(Tcp6(ClientMac, GatewayMac, ClientIp6, Vip6, ClientPort, 80, "S", 1, 0, hopLimit: 63)), hopLimit: 63);
        AssertSent(harness.Send("uplink", error, T0), "client", expected);
    }

    [Fact]
    public void Error_about_a_flow_conntrack_never_saw_passes_untouched()
    {
        var harness = Harness(RemoteWeb);
        byte[] quoted = L3(Tcp4(UplinkMac, NodeBMac, ClientIp, RemotePodIp, 1234, 8080, "S", 1, 0, ttl: 63));
        byte[] error = Icmp4Error(NodeBMac, UplinkMac, NodeBIp, ClientIp, 11, 0, 0, quoted);
        AssertSent(harness.Send("uplink", error, T0), "client", Icmp4Error(GatewayMac, ClientMac, NodeBIp, ClientIp, 11, 0, 0, quoted, ttl: 63));
        Assert.Equal(0, harness.Event("conntrack", "icmp-errors-translated"));
    }
}

/// <summary>
/// Errors the dataplane itself raises about a packet conntrack has just translated (its own egress MTU, a dead
/// endpoint): icmp-error runs after the rewrite, so the error must be translated back like any related error, or the
/// sender cannot match it to its socket (path-MTU discovery through a VIP, fast failure of a connect to a dead pod).
/// The quoted datagram must be exactly what the sender sent.
/// </summary>
[Trait("Category", "unit")]
public class LocallyGeneratedIcmpErrorTests
{
    private static PipelineHarness WithMtu(string services, string replace, string with)
    {
        string yaml = TestNode.Yaml(services).ReplaceLineEndings("\n");
        Assert.Contains(replace, yaml);
        return new PipelineHarness(NodeConfigLoader.Parse(yaml.Replace(replace, with, StringComparison.Ordinal), "test-node.yaml").ThrowIfInvalid());
    }

    private static PipelineHarness UplinkMtu1400() => WithMtu(RemoteWeb, $"mac: {UplinkMac} }}", $"mac: {UplinkMac}, mtu: 1400 }}");

    private static void Handshake(PipelineHarness harness)
    {
        harness.Send("client", Tcp4(ClientMac, GatewayMac, ClientIp, Vip, 40000, 80, "S", 1000, 0), T0);
        harness.Send("uplink", Tcp4(NodeBMac, UplinkMac, RemotePodIp, ClientIp, 8080, 40000, "SA", 5000, 1001), T0);
        harness.Send("client", Tcp4(ClientMac, GatewayMac, ClientIp, Vip, 40000, 80, "A", 1001, 5001), T0);
    }

    /// <summary>The single error sent: on <paramref name="port"/>, from/to the given addresses, type/code, and its quoted bytes.</summary>
    private static byte[] AssertError(List<Sent> sent, string port, string source, string destination, byte type, byte code, int rest, bool v6 = false)
    {
        Sent error = Assert.Single(sent);
        Assert.Equal(port, error.Port);
        AssertChecksums(error.Frame);
        Packet ip = Frames.Parse(error.Frame).PayloadPacket;
        Assert.Equal(Frames.Ip(source), v6 ? ((IPv6Packet)ip).SourceAddress : ((IPv4Packet)ip).SourceAddress);
        Assert.Equal(Frames.Ip(destination), v6 ? ((IPv6Packet)ip).DestinationAddress : ((IPv4Packet)ip).DestinationAddress);
        byte[] icmp = error.Frame[(v6 ? 54 : 34)..];
        Assert.Equal(type, icmp[0]);
        Assert.Equal(code, icmp[1]);
        Assert.Equal(rest, (icmp[4] << 24) | (icmp[5] << 16) | (icmp[6] << 8) | icmp[7]);
        return icmp[8..];
    }

    [Fact]
    public void Frag_needed_for_a_dnatted_packet_too_big_for_the_uplink_quotes_the_vip()
    {
        var harness = UplinkMtu1400();
        Handshake(harness);
        byte[] big = Tcp4(ClientMac, GatewayMac, ClientIp, Vip, 40000, 80, "PA", 1001, 5001, new byte[1420]);
        byte[] quoted = AssertError(harness.Send("client", big, T0), "client", GatewayIp, ClientIp, 3, 4, 1400);
        Assert.Equal(576 - 28, quoted.Length);
        AssertBytes(L3(big)[..quoted.Length], quoted);
        Assert.Equal(1, harness.Event("icmp-error-nat", "errors-translated"));
    }

    [Fact]
    public void Frag_needed_for_an_un_natted_reply_too_big_for_the_client_port_goes_back_to_the_backend()
    {
        // Pods have MTU 1400, the uplink 1500: the backend's big reply is un-NATed, then found too big. The error
        // must go to the backend (not to the VIP the reply now comes from), about the packet the backend sent.
        var harness = WithMtu(RemoteWeb, $"  mac: {GatewayMac}\n", $"  mac: {GatewayMac}\n  mtu: 1400\n");
        Handshake(harness);
        byte[] big = Tcp4(NodeBMac, UplinkMac, RemotePodIp, ClientIp, 8080, 40000, "PA", 5001, 1001, new byte[1420]);
        byte[] quoted = AssertError(harness.Send("uplink", big, T0), "uplink", UplinkIp, RemotePodIp, 3, 4, 1400);
        AssertBytes(L3(big)[..quoted.Length], quoted);
    }

    [Fact]
    public void Packet_too_big_for_a_dnatted_ipv6_packet_quotes_the_vip()
    {
        var harness = UplinkMtu1400();
        harness.Send("client", Tcp6(ClientMac, GatewayMac, ClientIp6, Vip6, 40000, 80, "S", 1000, 0), T0);
        harness.Send("uplink", Tcp6(NodeBMac, UplinkMac, RemotePodIp6, ClientIp6, 8080, 40000, "SA", 5000, 1001), T0);
        byte[] big = Tcp6(ClientMac, GatewayMac, ClientIp6, Vip6, 40000, 80, "A", 1001, 5001, new byte[1400]);
        byte[] quoted = AssertError(harness.Send("client", big, T0), "client", GatewayIp6, ClientIp6, 2, 0, 1400, v6: true);
        Assert.Equal(1280 - 48, quoted.Length);
        AssertBytes(L3(big)[..quoted.Length], quoted);
    }

    [Fact]
    public void Host_unreachable_for_a_dnatted_packet_to_a_dead_endpoint_quotes_the_vip()
    {
        const string Dead = """
              - name: web
                clusterIP: 10.96.0.10
                ports:
                  - { protocol: TCP, port: 80, targetPort: 8080 }
                endpoints:
                  - { ip: 10.244.1.99 }
            """;
        var harness = Harness(Dead);
        byte[] syn = Tcp4(ClientMac, GatewayMac, ClientIp, Vip, 40000, 80, "S", 1000, 0);
        byte[] quoted = AssertError(harness.Send("client", syn, T0), "client", GatewayIp, ClientIp, 3, 1, 0);
        AssertBytes(L3(syn), quoted);
    }

    [Fact]
    public void Time_exceeded_for_a_hairpinned_packet_goes_back_to_the_pod_not_to_the_gateway()
    {
        var harness = Harness(LocalWeb);
        byte[] syn = Tcp4(Web1Mac, GatewayMac, Web1Ip, Vip, 45000, 80, "S", 1, 0, ttl: 1);
        byte[] quoted = AssertError(harness.Send("web-1", syn, T0), "web-1", GatewayIp, Web1Ip, 11, 0, 0);
        AssertBytes(L3(syn), quoted);
    }
}
