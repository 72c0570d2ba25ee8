using Dataplane.Config;
using Dataplane.Model;
using Dataplane.Packets;
using static Dataplane.Tests.Config.ConfigYaml;

namespace Dataplane.Tests.Config;

/// <summary>Configs that load: the shipped example, defaults for what is left out, and printing back.</summary>
[Trait("Category", "unit")]
public sealed class NodeConfigLoaderTests
{
    [Fact]
    public void Example_file_loads_with_the_values_it_spells_out()
    {
        string path = ExamplePath();

        NodeConfig config = NodeConfigLoader.Load(path).ThrowIfInvalid();

        Assert.Equal(path, config.Source);
        NodeSettings node = config.Node;
        Assert.Equal("node-a", node.Name);
        Assert.Equal(IpPrefix.Parse("10.244.1.0/24"), node.PodCidr);
        Assert.Null(node.PodCidrV6);
        Assert.Equal(Ip4Address.Parse("10.244.1.1"), node.GatewayIp);
        Assert.Null(node.GatewayIpV6);
        Assert.Equal(MacAddress.Parse("02:00:00:00:01:01"), node.Mac);
        Assert.Equal(1500, node.Mtu);
        Assert.Equal(new UplinkConfig("up0", Ip4Address.Parse("192.168.77.10"), 24, null, 0, MacAddress.Parse("02:00:00:00:77:10"), 1500), node.Uplink);

        Assert.Equal(
            [
                new PodConfig("web-1", Ip4Address.Parse("10.244.1.11"), null, MacAddress.Parse("02:00:0a:f4:01:0b"), null),
                new PodConfig("web-2", Ip4Address.Parse("10.244.1.12"), null, MacAddress.Parse("02:00:0a:f4:01:0c"), "web-2"),
            ],
            config.Pods);

        RouteConfig route = Assert.Single(config.Routes);
        Assert.Equal(new RouteConfig(IpPrefix.Parse("10.244.2.0/24"), IpAddress.Parse("192.168.77.11"), MacAddress.Parse("02:00:00:00:77:11")), route);

        Assert.Equal(ExternalTraffic.Default, node.External);
        Assert.Equal(2, config.Services.Count);
        ServiceConfig web = config.Services[0];
        Assert.Equal(ServiceExposure.ClusterIpOnly, web.Exposure);
        ServiceConfig shop = config.Services[1];
        Assert.Equal(
            new ServiceExposure(ServiceType.LoadBalancer, [IpAddress.Parse("192.168.77.200")], [IpAddress.Parse("192.168.77.100")],
                TrafficPolicy.Local, TrafficPolicy.Cluster, 32000, [IpPrefix.Parse("192.168.77.0/24")]),
            shop.Exposure);
        Assert.Equal([new ServicePortConfig("https", L4Protocol.Tcp, 443, 8443, 30443)], shop.Ports);
        Assert.Equal("node-b", shop.Endpoints[1].NodeName);
        Assert.Equal("default/web", web.Name);
        Assert.Equal(Ip4Address.Parse("10.96.0.10"), web.ClusterIp);
        Assert.Null(web.ClusterIpV6);
        Assert.Equal(SessionAffinity.None, web.SessionAffinity);
        Assert.Equal(10800, web.AffinityTimeoutSeconds);
        Assert.Equal(Scheduler.Maglev, web.Scheduler);
        Assert.Equal(
            [new ServicePortConfig("http", L4Protocol.Tcp, 80, 8080, null), new ServicePortConfig("dns", L4Protocol.Udp, 53, 5353, null)],
            web.Ports);
        Assert.Equal(
            [new EndpointConfig(IpAddress.Parse("10.244.1.11"), 1, false), new EndpointConfig(IpAddress.Parse("10.244.1.12"), 2, false)],
            web.Endpoints);

        // The service is backed by exactly the two local pods.
        Assert.Equal(config.Pods.Select(static p => (IpAddress)p.Ip), web.Endpoints.Select(static e => e.Ip));

        Assert.Equal(1 << 20, config.Conntrack.MaxEntries);
        Assert.Equal(ConntrackTimeouts.Default with { TcpEstablished = 86400, Udp = 30 }, config.Conntrack.Timeouts);
        Assert.Equal(new ConntrackPodLimits(262144, 30_000, 60_000), config.Conntrack.PerPod);
        Assert.Equal(DataplaneSettings.Default, config.Dataplane);
        Assert.Equal("/run/dataplane/node-a.sock", config.ControlSocketPath);
    }

    [Fact]
    public void Missing_sections_take_their_defaults()
    {
        NodeConfig config = Valid("node: { name: n1, podCidr: 10.244.1.0/24, gatewayIp: 10.244.1.1, mac: 02:00:00:00:01:01 }\n");

        Assert.Equal(1500, config.Node.Mtu);
        Assert.Null(config.Node.Uplink);
        Assert.Empty(config.Pods);
        Assert.Empty(config.Routes);
        Assert.Empty(config.Services);
        Assert.Equal(ConntrackConfig.Default, config.Conntrack);
        Assert.Equal(DataplaneSettings.Default, config.Dataplane);
        Assert.Equal("node.yaml", config.Source);
    }

    [Fact]
    public void Empty_and_null_sections_are_empty()
    {
        NodeConfig config = Valid(Node + "pods: []\nroutes:\nservices: ~\nconntrack: {}\ndataplane:\n");

        Assert.Empty(config.Pods);
        Assert.Empty(config.Routes);
        Assert.Empty(config.Services);
        Assert.Equal(ConntrackConfig.Default, config.Conntrack);
        Assert.Equal(DataplaneSettings.Default, config.Dataplane);
    }

    [Fact]
    public void Optional_keys_take_their_defaults()
    {
        NodeConfig config = Valid(DualStackNode + """
            services:
              - name: dns
                clusterIP: 10.96.0.10
                ports: [{ port: 53 }]
                endpoints: [{ ip: 10.244.1.11 }]
            conntrack:
              timeouts: { udp: 60 }
            dataplane:
              workers: 2
            """);

        Assert.Equal(Ip6Address.Parse("fd00:10:244:1::1"), config.Node.GatewayIpV6);
        Assert.Equal(1500, config.Node.Uplink!.Mtu);
        ServiceConfig dns = Assert.Single(config.Services);
        Assert.Equal(SessionAffinity.None, dns.SessionAffinity);
        Assert.Equal(10800, dns.AffinityTimeoutSeconds);
        Assert.Equal(Scheduler.Maglev, dns.Scheduler);
        Assert.Equal(new ServicePortConfig(null, L4Protocol.Tcp, 53, 53, null), Assert.Single(dns.Ports));
        Assert.Equal(new EndpointConfig(IpAddress.Parse("10.244.1.11"), 1, false), Assert.Single(dns.Endpoints));
        Assert.Equal(ConntrackTimeouts.Default with { Udp = 60 }, config.Conntrack.Timeouts);
        Assert.Equal(DataplaneSettings.Default with { Workers = 2 }, config.Dataplane);
    }

    [Fact]
    public void Dual_stack_config_with_every_optional_key_loads()
    {
        NodeConfig config = Valid("""
            node:
              name: node-b
              podCidr: 10.244.2.0/24
              podCidrV6: fd00:10:244:2::/64
              gatewayIp: 10.244.2.1
              gatewayIpV6: fd00:10:244:2::fe
              mac: 02:00:00:00:02:01
              mtu: 9000
              uplink: { interface: eth0.100, ip: 192.168.77.11/24, ipV6: fd00:77::11/64, mac: 02:00:00:00:77:11, mtu: 9000 }
              nodePortRange: 30000-31999
              masquerade: { enabled: true, nonMasqueradeCidrs: [10.244.0.0/16, "fd00:10:244::/48"], ports: 62000-64999 }
              announceExternalIps: true
            pods:
              - { name: db-0, ip: 10.244.2.10, ipV6: "fd00:10:244:2::10", mac: 02:00:00:00:02:10, netns: db-0 }
            routes:
              - { cidr: 10.244.1.0/24, via: 192.168.77.10 }
              - { cidr: "fd00:10:244:1::/64", via: "fe80::1", viaMac: 02:00:00:00:77:10 }
              - { cidr: "fd00:10:244:3::/64", via: "fd00:77::12" }
            services:
              - name: db
                clusterIPs: [10.96.0.20, fd00:96::20]
                sessionAffinity: clientip
                sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } }
                scheduler: RoundRobin
                type: LoadBalancer
                externalIPs: [203.0.113.20]
                status: { loadBalancer: { ingress: [{ ip: 198.51.100.20 }, { hostname: lb.example.com }, { ip: "2001:db8::20" }] } }
                externalTrafficPolicy: Local
                internalTrafficPolicy: Local
                healthCheckNodePort: 31000
                loadBalancerSourceRanges: [198.51.100.0/24, "2001:db8::/32"]
                ports:
                  - { name: pg, port: 5432, nodePort: 30432 }
                  - { name: pg-udp, protocol: UDP, port: 5432, nodePort: 30432 }
                  - { name: sctp, protocol: SCTP, port: 9999, targetPort: 19999, nodePort: 30999 }
                endpoints:
                  - { ip: 10.244.2.10, weight: 256, nodeName: node-b }
                  - { ip: "fd00:10:244:2::10", terminating: true }
            """);

        Assert.Equal(Ip6Address.Parse("fd00:10:244:2::fe"), config.Node.GatewayIpV6);
        Assert.Equal(Ip6Address.Parse("fd00:77::11"), config.Node.Uplink!.IpV6);
        Assert.Equal(64, config.Node.Uplink.PrefixLengthV6);
        Assert.Equal(IpAddress.Parse("fe80::1"), config.Routes[1].Via);
        ServiceConfig db = Assert.Single(config.Services);
        Assert.Equal(SessionAffinity.ClientIP, db.SessionAffinity);
        Assert.Equal(Scheduler.RoundRobin, db.Scheduler);
        Assert.Equal((ushort)30432, db.Ports[0].NodePort);
        Assert.Equal(ServiceType.LoadBalancer, db.Exposure.Type);
        Assert.Equal([IpAddress.Parse("203.0.113.20")], db.Exposure.ExternalIps);
        Assert.Equal([IpAddress.Parse("198.51.100.20"), IpAddress.Parse("2001:db8::20")], db.Exposure.LoadBalancerIps);
        Assert.Equal(TrafficPolicy.Local, db.Exposure.ExternalTrafficPolicy);
        Assert.Equal(TrafficPolicy.Local, db.Exposure.InternalTrafficPolicy);
        Assert.Equal((ushort)31000, db.Exposure.HealthCheckNodePort);
        Assert.Equal([IpPrefix.Parse("198.51.100.0/24"), IpPrefix.Parse("2001:db8::/32")], db.Exposure.LoadBalancerSourceRanges);
        Assert.Equal("node-b", db.Endpoints[0].NodeName);
        Assert.Equal(new ExternalTraffic(30000, 31999, true, [IpPrefix.Parse("10.244.0.0/16"), IpPrefix.Parse("fd00:10:244::/48")], 62000, 64999, true), config.Node.External);
        Assert.Equal(config, Valid(NodeConfigWriter.Write(config)) with { Source = config.Source });
        Assert.Equal(L4Protocol.Sctp, db.Ports[2].Protocol);
        Assert.True(db.Endpoints[1].Terminating);
    }

    [Fact]
    public void Written_config_loads_back_to_the_same_values()
    {
        NodeConfig original = NodeConfigLoader.Load(ExamplePath()).ThrowIfInvalid();

        string yaml = NodeConfigWriter.Write(original);
        NodeConfig reloaded = Valid(yaml);

        Assert.Equal(original.Node, reloaded.Node);
        Assert.Equal(original.Pods, reloaded.Pods);
        Assert.Equal(original.Routes, reloaded.Routes);
        Assert.Equal(original.Conntrack, reloaded.Conntrack);
        Assert.Equal(original.Dataplane, reloaded.Dataplane);
        Assert.Equal(yaml, NodeConfigWriter.Write(reloaded));
    }

    [Fact]
    public void Io_uring_is_read_and_written_back()
    {
        NodeConfig config = Valid(DualStackNode + "dataplane:\n  io: uring\n");

        Assert.Equal(DataplaneSettings.Default with { Io = WorkerIo.Uring }, config.Dataplane);
        Assert.Equal(WorkerIo.Syscalls, DataplaneSettings.Default.Io);
        Assert.Equal(WorkerIo.Uring, Valid(NodeConfigWriter.Write(config)).Dataplane.Io);
    }

    [Fact]
    public void Written_dual_stack_config_quotes_what_yaml_would_misread()
    {
        // "fd00:10:244:1:1::" would end in ':' unquoted; a pod named "null" would read as no name; '#' starts a comment.
        string source = DualStackNode + """
            pods:
              - { name: "null", ip: 10.244.1.11, ipV6: "fd00:10:244:1:1::", mac: 02:00:00:00:00:0b, netns: "a#b:c" }
            routes:
              - { cidr: "fd00:10:244:2::/64", via: "fd00:77::11" }
            services:
              - { name: v6, type: NodePort, clusterIP: "fd00:96::", ports: [{ port: 80, nodePort: 30080 }], endpoints: [{ ip: "fd00:10:244:1:1::" }] }
            """;
        string yaml = NodeConfigWriter.Write(Valid(source));

        NodeConfig reloaded = Valid(yaml);

        PodConfig pod = Assert.Single(reloaded.Pods);
        Assert.Equal("null", pod.Name);
        Assert.Equal("a#b:c", pod.Netns);
        Assert.Equal(Ip6Address.Parse("fd00:10:244:1:1::"), pod.IpV6);
        Assert.Equal(yaml, NodeConfigWriter.Write(reloaded));
    }

    [Fact]
    public void Same_port_number_on_two_protocols_is_two_frontends()
    {
        NodeConfig config = Valid(Node + "services:\n  - { name: dns, clusterIP: 10.96.0.10, ports: [{ port: 53 }, { port: 53, protocol: UDP }] }\n");

        Assert.Equal(2, config.Services[0].Ports.Count);
    }
}
