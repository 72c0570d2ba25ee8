using Dataplane.Config;
using Dataplane.Conntrack;
using Dataplane.Model;
using Dataplane.Packets;
using Dataplane.Tests.Pipeline;
using PacketDotNet;
using static Dataplane.Tests.Conntrack.Nat;
using static Dataplane.Tests.Pipeline.TestNode;

namespace Dataplane.Tests.Conntrack;

/// <summary>
/// Traffic between the cluster and the outside through the replay engine, frame for frame: NodePort under both
/// external traffic policies, load-balancer IPs with source ranges and ARP announcement, external IPs,
/// internalTrafficPolicy, and pod egress masquerade (port allocation, ICMP echo, ICMP errors, running out of ports).
/// The outside world is 203.0.113.0/24 and 198.51.100.0/24 behind a router on the uplink (192.168.77.1).
/// </summary>
[Trait("Category", "unit")]
public sealed class ExternalTrafficTests
{
    private const string RouterMac = "02:00:00:00:77:01";
    private const string Outside = "203.0.113.5";
    private const string Denied = "198.51.100.9";
    private const string LoadBalancerIp = "192.168.77.100";
    private const string ExternalIp = "192.168.77.101";
    private const ushort OutsidePort = 40000;
    private const ushort NodePort = 30080;

    private static string Services(string policy = "Cluster", string endpoints = "[{ ip: 10.244.1.11 }]", string extra = "") => $$"""
          - name: web
            type: LoadBalancer
            clusterIP: 10.96.0.10
            externalIPs: [{{ExternalIp}}]
            status: { loadBalancer: { ingress: [{ ip: {{LoadBalancerIp}} }] } }
            externalTrafficPolicy: {{policy}}
            loadBalancerSourceRanges: [203.0.113.0/24]
        {{extra}}
            ports:
              - { name: http, protocol: TCP, port: 80, targetPort: 8080, nodePort: {{NodePort}} }
              - { name: dns, protocol: UDP, port: 53, targetPort: 5353, nodePort: {{NodePort}} }
            endpoints: {{endpoints}}
        """;

    private static PipelineHarness Harness(string services, string node = "", string masquerade = "{ nonMasqueradeCidrs: [10.244.0.0/16, \"fd00:10:244::/48\"] }")
    {
        string yaml = TestNode.Yaml(services).ReplaceLineEndings("\n");
        string uplink = $"  uplink: {{ interface: up0, ip: {UplinkIp}/24, ipV6: {UplinkIp6}/64, mac: {UplinkMac} }}\n";
        Assert.Contains(uplink, yaml);
        yaml = yaml.Replace(uplink, uplink + $"  masquerade: {masquerade}\n" + node, StringComparison.Ordinal)
            .Replace("routes:\n", $"routes:\n  - {{ cidr: 203.0.113.0/24, via: 192.168.77.1, viaMac: {RouterMac} }}\n  - {{ cidr: 198.51.100.0/24, via: 192.168.77.1, viaMac: {RouterMac} }}\n"
                + $"  - {{ cidr: \"2001:db8::/64\", via: \"fd00:77::1\", viaMac: {RouterMac} }}\n", StringComparison.Ordinal);
        return new PipelineHarness(NodeConfigLoader.Parse(yaml, "external.yaml").ThrowIfInvalid());
    }

    private static byte[] FromOutside(string dst, ushort dport, string flags, ushort sport = OutsidePort, string src = Outside)
        => Tcp4(RouterMac, UplinkMac, src, dst, sport, dport, flags);

    [Fact]
    public void NodePort_with_cluster_policy_snats_the_client_to_the_node_and_the_reply_returns_from_the_node_port()
    {
        PipelineHarness harness = Harness(Services());

        List<Sent> sent = harness.Send("uplink", FromOutside(UplinkIp, NodePort, "S"), T0);

        FlowEntry flow = Entry(harness, T0, Outside, OutsidePort, UplinkIp, NodePort, IpProtocol.Tcp);
        Assert.True((flow.Flags & FlowFlags.SnatNode) != 0);
        Assert.Equal(OutsidePort, flow.SnatPort); // its own port was free and outside the node-port range: kept, as nf_nat does
        AssertSent(sent, "web-1", Tcp4(GatewayMac, Web1Mac, UplinkIp, Web1Ip, flow.SnatPort, 8080, "S", ttl: 63));

        sent = harness.Send("web-1", Tcp4(Web1Mac, GatewayMac, Web1Ip, UplinkIp, 8080, flow.SnatPort, "SA"), T0 + 1000);
        AssertSent(sent, "uplink", Tcp4(UplinkMac, RouterMac, UplinkIp, Outside, NodePort, OutsidePort, "SA", ttl: 63));
        Assert.Equal(1, harness.Event("conntrack", "external-flows"));
        Assert.Empty(harness.AllDrops());
    }

    [Fact]
    public void NodePort_udp_is_served_too()
    {
        PipelineHarness harness = Harness(Services());

        List<Sent> sent = harness.Send("uplink", Udp4(RouterMac, UplinkMac, Outside, UplinkIp, OutsidePort, NodePort, Dns(false)), T0);

        FlowEntry flow = Entry(harness, T0, Outside, OutsidePort, UplinkIp, NodePort, IpProtocol.Udp);
        AssertSent(sent, "web-1", Udp4(GatewayMac, Web1Mac, UplinkIp, Web1Ip, flow.SnatPort, 5353, Dns(false), ttl: 63));
        sent = harness.Send("web-1", Udp4(Web1Mac, GatewayMac, Web1Ip, UplinkIp, 5353, flow.SnatPort, Dns(true)), T0 + 1000);
        AssertSent(sent, "uplink", Udp4(UplinkMac, RouterMac, UplinkIp, Outside, NodePort, OutsidePort, Dns(true), ttl: 63));
    }

    [Fact]
    public void NodePort_with_cluster_policy_reaches_an_endpoint_on_another_node_and_the_reply_comes_back_through_this_one()
    {
        PipelineHarness harness = Harness(Services(endpoints: "[{ ip: 10.244.2.12 }]"));

        List<Sent> sent = harness.Send("uplink", FromOutside(UplinkIp, NodePort, "S"), T0);

        FlowEntry flow = Entry(harness, T0, Outside, OutsidePort, UplinkIp, NodePort, IpProtocol.Tcp);
        AssertSent(sent, "uplink", Tcp4(UplinkMac, NodeBMac, UplinkIp, RemotePodIp, flow.SnatPort, 8080, "S", ttl: 63));

        // Node-b's pod answers the node's address; node-b routes it back over the underlay.
        sent = harness.Send("uplink", Tcp4(NodeBMac, UplinkMac, RemotePodIp, UplinkIp, 8080, flow.SnatPort, "SA", ttl: 63), T0 + 1000);
        AssertSent(sent, "uplink", Tcp4(UplinkMac, RouterMac, UplinkIp, Outside, NodePort, OutsidePort, "SA", ttl: 62));
    }

    [Fact]
    public void Local_policy_keeps_the_client_address_and_uses_only_this_nodes_endpoints()
    {
        PipelineHarness harness = Harness(Services("Local", "[{ ip: 10.244.1.11 }, { ip: 10.244.2.12 }]"));

        for (ushort i = 0; i < 16; i++)
        {
            ushort sport = (ushort)(OutsidePort + i);
            List<Sent> sent = harness.Send("uplink", FromOutside(UplinkIp, NodePort, "S", sport), T0 + i);
            AssertSent(sent, "web-1", Tcp4(GatewayMac, Web1Mac, Outside, Web1Ip, sport, 8080, "S", ttl: 63));
        }

        List<Sent> reply = harness.Send("web-1", Tcp4(Web1Mac, GatewayMac, Web1Ip, Outside, 8080, OutsidePort, "SA"), T0 + 100);
        AssertSent(reply, "uplink", Tcp4(UplinkMac, RouterMac, UplinkIp, Outside, NodePort, OutsidePort, "SA", ttl: 63));
    }

    [Fact]
    public void Local_policy_without_a_local_endpoint_drops_external_traffic_but_the_cluster_ip_still_balances()
    {
        PipelineHarness harness = Harness(Services("Local", "[{ ip: 10.244.2.12 }]"));

        Assert.Empty(harness.Send("uplink", FromOutside(UplinkIp, NodePort, "S"), T0));
        Assert.Empty(harness.Send("uplink", FromOutside(LoadBalancerIp, 80, "S", OutsidePort + 1), T0));
        Assert.Equal(2, harness.Drops("conntrack", "no-local-endpoint"));

        List<Sent> sent = harness.Send("client", Tcp4(ClientMac, GatewayMac, ClientIp, Vip, 41000, 80, "S"), T0 + 1);
        AssertSent(sent, "uplink", Tcp4(UplinkMac, NodeBMac, ClientIp, RemotePodIp, 41000, 8080, "S", ttl: 63));
    }

    [Fact]
    public void Load_balancer_ip_admits_its_source_ranges_only()
    {
        PipelineHarness harness = Harness(Services());

        List<Sent> sent = harness.Send("uplink", FromOutside(LoadBalancerIp, 80, "S"), T0);
        FlowEntry flow = Entry(harness, T0, Outside, OutsidePort, LoadBalancerIp, 80, IpProtocol.Tcp);
        AssertSent(sent, "web-1", Tcp4(GatewayMac, Web1Mac, UplinkIp, Web1Ip, flow.SnatPort, 8080, "S", ttl: 63));
        sent = harness.Send("web-1", Tcp4(Web1Mac, GatewayMac, Web1Ip, UplinkIp, 8080, flow.SnatPort, "SA"), T0 + 1);
        AssertSent(sent, "uplink", Tcp4(UplinkMac, RouterMac, LoadBalancerIp, Outside, 80, OutsidePort, "SA", ttl: 63));

        Assert.Empty(harness.Send("uplink", FromOutside(LoadBalancerIp, 80, "S", src: Denied), T0 + 2));
        Assert.Equal(1, harness.Drops("conntrack", "source-range-denied"));

        // The ranges belong to the load-balancer IP; the external IP and the node port take anyone.
        sent = harness.Send("uplink", FromOutside(ExternalIp, 80, "S", src: Denied), T0 + 3);
        Assert.Equal("web-1", Assert.Single(sent).Port);
        sent = harness.Send("uplink", FromOutside(UplinkIp, NodePort, "S", src: Denied), T0 + 4);
        Assert.Equal("web-1", Assert.Single(sent).Port);
    }

    [Fact]
    public void Announced_service_addresses_are_answered_on_the_uplink_and_unannounced_ones_are_not()
    {
        PipelineHarness announcing = Harness(Services(), node: "  announceExternalIps: true\n");
        PipelineHarness quiet = Harness(Services());

        foreach (string address in (string[])[LoadBalancerIp, ExternalIp])
        {
            List<Sent> sent = announcing.Send("uplink", Frames.ArpRequest(RouterMac, "192.168.77.1", address), T0);
            Sent reply = Assert.Single(sent);
            Assert.Equal("uplink", reply.Port);
            var arp = (PacketDotNet.ArpPacket)Frames.Parse(reply.Frame).PayloadPacket;
            Assert.Equal(ArpOperation.Response, arp.Operation);
            Assert.Equal(Frames.Ip(address), arp.SenderProtocolAddress);
            Assert.Equal(Frames.Mac(UplinkMac), arp.SenderHardwareAddress);

            Assert.Empty(quiet.Send("uplink", Frames.ArpRequest(RouterMac, "192.168.77.1", address), T0));
        }

        // A service removed at run time is no longer announced.
        announcing.Dataplane.ServiceController.Remove("default/web");
        Assert.Empty(announcing.Send("uplink", Frames.ArpRequest(RouterMac, "192.168.77.1", LoadBalancerIp), T0 + 1));
    }

    [Fact]
    public void Internal_traffic_policy_local_keeps_cluster_ip_flows_on_this_node()
    {
        PipelineHarness harness = Harness(Services(endpoints: "[{ ip: 10.244.1.11 }, { ip: 10.244.2.12 }]", extra: "    internalTrafficPolicy: Local"));

        for (ushort i = 0; i < 16; i++)
        {
            ushort sport = (ushort)(41000 + i);
            List<Sent> sent = harness.Send("client", Tcp4(ClientMac, GatewayMac, ClientIp, Vip, sport, 80, "S"), T0 + i);
            AssertSent(sent, "web-1", Tcp4(GatewayMac, Web1Mac, ClientIp, Web1Ip, sport, 8080, "S", ttl: 63));
        }
    }

    [Fact]
    public void Endpoint_node_name_decides_what_is_local_over_the_pod_cidr()
    {
        // 10.244.2.12 is on node-b's CIDR but its slice says it runs here (node-a); 10.244.1.11 says node-b.
        PipelineHarness harness = Harness(Services("Local", "[{ ip: 10.244.1.11, nodeName: node-b }, { ip: 10.244.2.12, nodeName: node-a }]"));

        List<Sent> sent = harness.Send("uplink", FromOutside(UplinkIp, NodePort, "S"), T0);

        AssertSent(sent, "uplink", Tcp4(UplinkMac, NodeBMac, Outside, RemotePodIp, OutsidePort, 8080, "S", ttl: 63));
    }

    [Fact]
    public void Masquerade_gives_two_pods_with_one_source_port_distinct_node_ports_outside_the_node_port_range()
    {
        PipelineHarness harness = Harness(Services());
        const ushort PodPort = 31000; // inside the node-port range: must not be kept on the node's address

        List<Sent> a = harness.Send("client", Tcp4(ClientMac, GatewayMac, ClientIp, Outside, PodPort, 443, "S"), T0);
        List<Sent> b = harness.Send("web-2", Tcp4(Web2Mac, GatewayMac, Web2Ip, Outside, PodPort, 443, "S"), T0 + 1);

        FlowEntry fa = Entry(harness, T0 + 1, ClientIp, PodPort, Outside, 443, IpProtocol.Tcp);
        FlowEntry fb = Entry(harness, T0 + 1, Web2Ip, PodPort, Outside, 443, IpProtocol.Tcp);
        Assert.NotEqual(fa.SnatPort, fb.SnatPort);
        foreach (FlowEntry f in (FlowEntry[])[fa, fb])
        {
            Assert.False(f.SnatPort is >= 30000 and <= 32767, $"SNAT port {f.SnatPort} is in the node-port range");
        }

        AssertSent(a, "uplink", Tcp4(UplinkMac, RouterMac, UplinkIp, Outside, fa.SnatPort, 443, "S", ttl: 63));
        AssertSent(b, "uplink", Tcp4(UplinkMac, RouterMac, UplinkIp, Outside, fb.SnatPort, 443, "S", ttl: 63));

        AssertSent(harness.Send("uplink", FromOutside(UplinkIp, fb.SnatPort, "SA", 443), T0 + 2), "web-2",
            Tcp4(GatewayMac, Web2Mac, Outside, Web2Ip, 443, PodPort, "SA", ttl: 63));
        AssertSent(harness.Send("uplink", FromOutside(UplinkIp, fa.SnatPort, "SA", 443), T0 + 3), "client",
            Tcp4(GatewayMac, ClientMac, Outside, ClientIp, 443, PodPort, "SA", ttl: 63));
        Assert.Equal(2, harness.Event("conntrack", "masqueraded"));
        Assert.Empty(harness.AllDrops());
    }

    [Fact]
    public void Traffic_to_the_cluster_is_not_masqueraded_nor_is_any_when_masquerade_is_off()
    {
        PipelineHarness harness = Harness(Services());
        AssertSent(harness.Send("client", Tcp4(ClientMac, GatewayMac, ClientIp, RemotePodIp, 41000, 80, "S"), T0), "uplink",
            Tcp4(UplinkMac, NodeBMac, ClientIp, RemotePodIp, 41000, 80, "S", ttl: 63));

        PipelineHarness off = Harness(Services(), masquerade: "{ enabled: false }");
        AssertSent(off.Send("client", Tcp4(ClientMac, GatewayMac, ClientIp, Outside, 41000, 443, "S"), T0), "uplink",
            Tcp4(UplinkMac, RouterMac, ClientIp, Outside, 41000, 443, "S", ttl: 63));
        Assert.Equal(0, harness.Event("conntrack", "masqueraded") + off.Event("conntrack", "masqueraded"));
    }

    [Fact]
    public void Masqueraded_ping_gets_a_node_identifier_and_the_reply_gets_the_pods_back()
    {
        PipelineHarness harness = Harness(Services());

        List<Sent> sent = harness.Send("client", Frames.Icmp4Echo(ClientMac, GatewayMac, ClientIp, Outside, id: 7), T0);

        var key = new FlowKey(IpAddress.Parse(ClientIp), IpAddress.Parse(Outside), 7, 0, IpProtocol.Icmp);
        FlowEntry flow = Assert.Single(Entries(harness, T0), e => e.Original == key);
        Assert.Equal((ushort)7, flow.SnatPort);
        AssertSent(sent, "uplink", Frames.Icmp4Echo(UplinkMac, RouterMac, UplinkIp, Outside, id: flow.SnatPort, ttl: 63));

        // A second pod pinging the same host with the same identifier gets another one.
        List<Sent> second = harness.Send("web-2", Frames.Icmp4Echo(Web2Mac, GatewayMac, Web2Ip, Outside, id: 7), T0);
        var key2 = new FlowKey(IpAddress.Parse(Web2Ip), IpAddress.Parse(Outside), 7, 0, IpProtocol.Icmp);
        FlowEntry flow2 = Assert.Single(Entries(harness, T0), e => e.Original == key2);
        Assert.NotEqual((ushort)7, flow2.SnatPort);
        AssertSent(second, "uplink", Frames.Icmp4Echo(UplinkMac, RouterMac, UplinkIp, Outside, id: flow2.SnatPort, ttl: 63));

        sent = harness.Send("uplink", Frames.Icmp4Echo(RouterMac, UplinkMac, Outside, UplinkIp, id: flow.SnatPort, reply: true), T0 + 1);
        AssertSent(sent, "client", Frames.Icmp4Echo(GatewayMac, ClientMac, Outside, ClientIp, id: 7, reply: true, ttl: 63));
    }

    [Fact]
    public void Icmp_error_about_a_masqueraded_packet_reaches_the_pod_with_its_own_addresses()
    {
        PipelineHarness harness = Harness(Services());
        byte[] syn = Tcp4(ClientMac, GatewayMac, ClientIp, Outside, 41000, 443, "S");
        List<Sent> sent = harness.Send("client", syn, T0);
        byte[] leaving = Assert.Single(sent).Frame;

        // The router says the (translated) packet is too big; the pod must see its own packet quoted.
        byte[] error = Icmp4Error(RouterMac, UplinkMac, "192.168.77.1", UplinkIp, 3, 4, 1400, L3(leaving)[..28]);
        sent = harness.Send("uplink", error, T0 + 1);

        Sent only = Assert.Single(sent);
        Assert.Equal("client", only.Port);
        var ip = (IPv4Packet)Frames.Parse(only.Frame).PayloadPacket;
        Assert.Equal(Frames.Ip(ClientIp), ip.DestinationAddress);
        byte[] quoted = only.Frame[(14 + 20 + 8)..];
        Assert.Equal(L3(syn)[12..20], quoted[12..20]); // source and destination addresses as the pod sent them
        Assert.Equal(L3(syn)[20..24], quoted[20..24]); // and its ports
        AssertChecksums(only.Frame);
    }

    [Fact]
    public void Icmp_error_about_a_node_port_reply_reaches_the_backend_with_its_own_addresses()
    {
        PipelineHarness harness = Harness(Services("Local"));
        harness.Send("uplink", FromOutside(UplinkIp, NodePort, "S"), T0);
        List<Sent> sent = harness.Send("web-1", Tcp4(Web1Mac, GatewayMac, Web1Ip, Outside, 8080, OutsidePort, "SA", data: new byte[1400]), T0 + 1);
        byte[] leaving = Assert.Single(sent).Frame;

        byte[] error = Icmp4Error(RouterMac, UplinkMac, "192.168.77.1", UplinkIp, 3, 4, 1300, L3(leaving)[..28]);
        sent = harness.Send("uplink", error, T0 + 2);

        Sent only = Assert.Single(sent);
        Assert.Equal("web-1", only.Port);
        var ip = (IPv4Packet)Frames.Parse(only.Frame).PayloadPacket;
        Assert.Equal(Frames.Ip(Web1Ip), ip.DestinationAddress);
        byte[] quoted = only.Frame[(14 + 20 + 8)..];
        Assert.Equal(Frames.Ip(Web1Ip).GetAddressBytes(), quoted[12..16]);
        Assert.Equal([0x1F, 0x90], quoted[20..22]); // 8080: the backend's own port, not the node port
        AssertChecksums(only.Frame);
    }

    [Fact]
    public void Ipv6_node_port_and_masquerade_use_the_uplinks_ipv6_address()
    {
        const string Outside6 = "2001:db8::5";
        PipelineHarness harness = Harness("""
              - name: web
                type: NodePort
                clusterIP: fd00:96::10
                ports: [ { name: http, protocol: TCP, port: 80, targetPort: 8080, nodePort: 30080 } ]
                endpoints: [ { ip: "fd00:10:244:1::11" } ]
            """, masquerade: "{ nonMasqueradeCidrs: [10.244.0.0/16, \"fd00:10:244::/48\"] }");

        List<Sent> sent = harness.Send("uplink", Tcp6(RouterMac, UplinkMac, Outside6, UplinkIp6, OutsidePort, NodePort, "S"), T0);
        FlowEntry flow = Entry(harness, T0, Outside6, OutsidePort, UplinkIp6, NodePort, IpProtocol.Tcp);
        AssertSent(sent, "web-1", Tcp6(GatewayMac, Web1Mac, UplinkIp6, Web1Ip6, flow.SnatPort, 8080, "S", hopLimit: 63));
        sent = harness.Send("web-1", Tcp6(Web1Mac, GatewayMac, Web1Ip6, UplinkIp6, 8080, flow.SnatPort, "SA"), T0 + 1);
        AssertSent(sent, "uplink", Tcp6(UplinkMac, RouterMac, UplinkIp6, Outside6, NodePort, OutsidePort, "SA", hopLimit: 63));

        sent = harness.Send("client", Tcp6(ClientMac, GatewayMac, ClientIp6, Outside6, 41000, 443, "S"), T0 + 2);
        FlowEntry egress = Entry(harness, T0 + 2, ClientIp6, 41000, Outside6, 443, IpProtocol.Tcp);
        AssertSent(sent, "uplink", Tcp6(UplinkMac, RouterMac, UplinkIp6, Outside6, egress.SnatPort, 443, "S", hopLimit: 63));
        AssertSent(harness.Send("uplink", Tcp6(RouterMac, UplinkMac, Outside6, UplinkIp6, 443, egress.SnatPort, "SA"), T0 + 3), "client",
            Tcp6(GatewayMac, ClientMac, Outside6, ClientIp6, 443, 41000, "SA", hopLimit: 63));
    }

    [Fact]
    public void A_new_connection_may_take_the_snat_port_of_one_in_time_wait()
    {
        PipelineHarness harness = Harness(Services(), masquerade: "{ nonMasqueradeCidrs: [10.244.0.0/16], ports: 65000-65063 }");
        var now = T0;
        for (ushort i = 0; i < 64; i++)
        {
            // A whole connection, closed by the server first (it ends in TIME_WAIT on our side).
            ushort sport = (ushort)(42000 + i);
            harness.Send("client", Tcp4(ClientMac, GatewayMac, ClientIp, Outside, sport, 443, "S"), ++now);
            ushort snat = Entry(harness, now, ClientIp, sport, Outside, 443, IpProtocol.Tcp).SnatPort;
            harness.Send("uplink", FromOutside(UplinkIp, snat, "SA", 443), ++now);
            harness.Send("client", Tcp4(ClientMac, GatewayMac, ClientIp, Outside, sport, 443, "A"), ++now);
            harness.Send("uplink", FromOutside(UplinkIp, snat, "FA", 443), ++now);
            harness.Send("client", Tcp4(ClientMac, GatewayMac, ClientIp, Outside, sport, 443, "FA"), ++now);
            harness.Send("uplink", FromOutside(UplinkIp, snat, "A", 443), ++now);
            Assert.Equal(TcpState.TimeWait, Entry(harness, now, ClientIp, sport, Outside, 443, IpProtocol.Tcp).TcpState);
        }

        // Every port of the range is held by a connection in TIME_WAIT: the 65th still gets one.
        List<Sent> sent = harness.Send("client", Tcp4(ClientMac, GatewayMac, ClientIp, Outside, 43000, 443, "S"), ++now);
        Assert.Equal("uplink", Assert.Single(sent).Port);
        Assert.InRange(Entry(harness, now, ClientIp, 43000, Outside, 443, IpProtocol.Tcp).SnatPort, 65000, 65063);
        Assert.Equal(0, harness.Event("conntrack", "snat-ports-exhausted"));
    }

    [Fact]
    public void Running_out_of_snat_ports_toward_one_destination_is_answered_and_counted()
    {
        PipelineHarness harness = Harness(Services(), masquerade: "{ nonMasqueradeCidrs: [10.244.0.0/16], ports: 65000-65063 }");
        for (ushort i = 0; i < 64; i++)
        {
            Assert.Equal("uplink", Assert.Single(harness.Send("client", Tcp4(ClientMac, GatewayMac, ClientIp, Outside, (ushort)(42000 + i), 443, "S"), T0 + i)).Port);
        }

        List<Sent> sent = harness.Send("client", Tcp4(ClientMac, GatewayMac, ClientIp, Outside, 43000, 443, "S"), T0 + 100);

        Sent answer = Assert.Single(sent);
        Assert.Equal("client", answer.Port);
        var icmp = (IcmpV4Packet)((IPv4Packet)Frames.Parse(answer.Frame).PayloadPacket).PayloadPacket;
        Assert.Equal(IcmpV4TypeCode.UnreachableCommunicationProhibited, icmp.TypeCode);
        Assert.Equal(1, harness.Event("conntrack", "snat-ports-exhausted"));

        // Another destination still has every port.
        Assert.Equal("uplink", Assert.Single(harness.Send("client", Tcp4(ClientMac, GatewayMac, ClientIp, "203.0.113.6", 43000, 443, "S"), T0 + 101)).Port);
    }
}
