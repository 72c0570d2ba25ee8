using Dataplane.Config;
using Dataplane.Model;
using static Dataplane.Tests.Config.ConfigYaml;

namespace Dataplane.Tests.Config;

/// <summary>
/// One refused snippet per validation rule: each must produce exactly one error (no cascade), with the key path, a
/// fragment of the message, and the line marked <c>#!</c> in the snippet.
/// </summary>
[Trait("Category", "unit")]
public sealed class NodeConfigValidationTests
{
    [Theory]
    [MemberData(nameof(NodeCases))]
    [MemberData(nameof(UplinkCases))]
    [MemberData(nameof(PodCases))]
    [MemberData(nameof(RouteCases))]
    [MemberData(nameof(ServiceCases))]
    [MemberData(nameof(ExposureCases))]
    [MemberData(nameof(TuningCases))]
    [MemberData(nameof(ShapeCases))]
    public void Invalid_config_reports_one_error_at_the_offending_line(string yaml, string keyPath, string fragment)
    {
        ConfigError error = Assert.Single(Errors(yaml));

        Assert.Equal(keyPath, error.KeyPath);
        Assert.Contains(fragment, error.Problem, StringComparison.Ordinal);
        Assert.Equal(MarkedLine(yaml), error.Line);
        Assert.Equal("node.yaml", error.File);
    }

    public static TheoryData<string, string, string> NodeCases() => new()
    {
        { "pods: []  #!\n", "node", "required key 'node' is missing" },
        { "node:\n  podCidr: 10.244.1.0/24  #!\n  gatewayIp: 10.244.1.1\n  mac: 02:00:00:00:01:01\n", "node.name", "required key 'name' is missing" },
        { Nd(name: "Node_A  #!"), "node.name", "DNS-1123 subdomain" },
        { Nd(name: new string('a', 64) + "  #!"), "node.name", "DNS-1123 subdomain" },
        { Nd(name: "-node  #!"), "node.name", "DNS-1123 subdomain" },
        { Nd(podCidr: "fd00::/64  #!"), "node.podCidr", "use podCidrV6" },
        { Nd(podCidr: "10.244.1.5/24  #!"), "node.podCidr", "host bits set (did you mean 10.244.1.0/24?)" },
        { Nd(podCidr: "10.244.1.0/31  #!", gatewayIp: "10.244.1.1"), "node.podCidr", "too small" },
        { Nd(podCidr: "10.244.1.0  #!"), "node.podCidr", "is not a CIDR" },
        { Nd(extra: "  podCidrV6: 10.245.0.0/16  #!\n"), "node.podCidrV6", "use podCidr" },
        { Nd(extra: "  podCidrV6: fd00::/127  #!\n"), "node.podCidrV6", "too small" },
        { Nd(gatewayIp: "10.244.2.1  #!"), "node.gatewayIp", "'10.244.2.1' is outside node.podCidr 10.244.1.0/24" },
        { Nd(gatewayIp: "10.244.1.0  #!"), "node.gatewayIp", "network address of node.podCidr" },
        { Nd(gatewayIp: "10.244.1.255  #!"), "node.gatewayIp", "broadcast address of node.podCidr" },
        { Nd(gatewayIp: "fd00::1  #!"), "node.gatewayIp", "use gatewayIpV6" },
        { Nd(extra: "  gatewayIpV6: fd00::1  #!\n"), "node.gatewayIpV6", "needs node.podCidrV6" },
        { Nd(extra: "  podCidrV6: fd00:1::/64\n  gatewayIpV6: fd00:2::1  #!\n"), "node.gatewayIpV6", "outside node.podCidrV6 fd00:1::/64" },
        { Nd(extra: "  podCidrV6: fd00:1::/64\n  gatewayIpV6: 'fd00:1::'  #!\n"), "node.gatewayIpV6", "subnet-router anycast" },
        { Nd(mac: "03:00:00:00:01:01  #!"), "node.mac", "group (multicast) MAC" },
        { Nd(mac: "00:00:00:00:00:00  #!"), "node.mac", "all-zero" },
        { Nd(mac: "02:00:00:00:01  #!"), "node.mac", "not a MAC address" },
        { Nd(extra: "  mtu: 575  #!\n"), "node.mtu", "575 is out of range 576..65535" },
        { Nd(extra: "  mtu: 1500000000000  #!\n"), "node.mtu", "out of range 576..65535" },
        { Nd(extra: "  podCidrV6: fd00:1::/64\n  mtu: 1200  #!\n"), "node.mtu", "minimum for IPv6" },
        { Nd(extra: "  mtu: \"1500\"  #!\n"), "node.mtu", "expected an integer, got the string \"1500\"" },
        { Nd(extra: "  mtu: { size: 1500 }  #!\n"), "node.mtu", "expected an integer, got a mapping" },
        { Nd(name: "[node-a]  #!"), "node.name", "expected a string, got a list" },
    };

    public static TheoryData<string, string, string> UplinkCases() => new()
    {
        { Nd(uplink: "{ interface: averyverylongname, ip: 192.168.77.10/24, mac: 02:00:00:00:77:10 }  #!"), "node.uplink.interface", "1..15 characters" },
        { Nd(uplink: "{ interface: 'up/0', ip: 192.168.77.10/24, mac: 02:00:00:00:77:10 }  #!"), "node.uplink.interface", "not a valid interface name" },
        { Nd(uplink: "{ interface: up0, ip: 192.168.77.10, mac: 02:00:00:00:77:10 }  #!"), "node.uplink.ip", "with its prefix length" },
        { Nd(uplink: "{ interface: up0, ip: 192.168.77.10/33, mac: 02:00:00:00:77:10 }  #!"), "node.uplink.ip", "prefix length must be 1..32" },
        { Nd(uplink: "{ interface: up0, ip: 10.244.1.200/16, mac: 02:00:00:00:77:10 }  #!"), "node.uplink.ip", "inside node.podCidr 10.244.1.0/24" },
        { Nd(uplink: "{ interface: up0, ip: 192.168.77.0/24, mac: 02:00:00:00:77:10 }  #!"), "node.uplink.ip", "network address of its subnet 192.168.77.0/24" },
        { Nd(extra: "  podCidrV6: fd00:1::/64\n", uplink: "{ interface: up0, ip: 192.168.77.10/24, ipV6: 'fd00:1::99/64', mac: 02:00:00:00:77:10 }  #!"), "node.uplink.ipV6", "inside node.podCidrV6" },
        { Nd(uplink: "{ interface: up0, ip: 192.168.77.10/24, ipV6: 192.168.1.1/24, mac: 02:00:00:00:77:10 }  #!"), "node.uplink.ipV6", "is not an IPv6 address" },
        { Nd(uplink: "{ interface: up0, ip: 192.168.77.10/24 }  #!"), "node.uplink.mac", "required key 'mac' is missing" },
        { Nd(uplink: "{ interface: up0, ip: 192.168.77.10/24, mac: 02:00:00:00:77:10, mtu: 70000 }  #!"), "node.uplink.mtu", "out of range 576..65535" },
    };

    public static TheoryData<string, string, string> PodCases() => new()
    {
        { Node + "pods:\n  - { name: Web, ip: 10.244.1.11, mac: 02:00:00:00:00:0b }  #!\n", "pods[0].name", "DNS-1123 label" },
        { Node + "pods:\n  - { name: web, ip: 10.244.1.11, mac: 02:00:00:00:00:0b }\n  - { name: web, ip: 10.244.1.12, mac: 02:00:00:00:00:0c }  #!\n", "pods[1].name", "duplicate of pods[0].name" },
        { Node + "pods:\n  - name: web\n    ip: 10.244.2.5  #!\n    mac: 02:00:00:00:00:0b\n", "pods[0].ip", "'10.244.2.5' is outside node.podCidr 10.244.1.0/24" },
        { Node + "pods:\n  - { name: web, ip: 10.244.1.1, mac: 02:00:00:00:00:0b }  #!\n", "pods[0].ip", "is node.gatewayIp" },
        { Node + "pods:\n  - { name: web, ip: 10.244.1.0, mac: 02:00:00:00:00:0b }  #!\n", "pods[0].ip", "network address" },
        { Node + "pods:\n  - { name: web, ip: 10.244.1.255, mac: 02:00:00:00:00:0b }  #!\n", "pods[0].ip", "broadcast address" },
        { Node + "pods:\n  - { name: a, ip: 10.244.1.11, mac: 02:00:00:00:00:0b }\n  - { name: b, ip: 10.244.1.11, mac: 02:00:00:00:00:0c }  #!\n", "pods[1].ip", "'10.244.1.11' is a duplicate of pods[0].ip" },
        { Node + "pods:\n  - { name: web, mac: 02:00:00:00:00:0b }  #!\n", "pods[0].ip", "required key 'ip' is missing" },
        { Node + "pods:\n  - { name: web, ip: 10.244.1.11, ipV6: 'fd00::11', mac: 02:00:00:00:00:0b }  #!\n", "pods[0].ipV6", "needs node.podCidrV6" },
        { DualStackNode + "pods:\n  - { name: web, ip: 10.244.1.11, ipV6: 'fd00:99::11', mac: 02:00:00:00:00:0b }  #!\n", "pods[0].ipV6", "outside node.podCidrV6 fd00:10:244:1::/64" },
        { DualStackNode + "pods:\n  - { name: web, ip: 10.244.1.11, ipV6: 'fd00:10:244:1::1', mac: 02:00:00:00:00:0b }  #!\n", "pods[0].ipV6", "the node's IPv6 gateway" },
        { DualStackNode + "pods:\n  - { name: a, ip: 10.244.1.11, ipV6: 'fd00:10:244:1::11', mac: 02:00:00:00:00:0b }\n  - { name: b, ip: 10.244.1.12, ipV6: 'fd00:10:244:1::11', mac: 02:00:00:00:00:0c }  #!\n", "pods[1].ipV6", "duplicate of pods[0].ipV6" },
        { Node + "pods:\n  - { name: web, ip: 10.244.1.11, mac: 02:00:00:00:01:01 }  #!\n", "pods[0].mac", "is node.mac" },
        { Node + "pods:\n  - { name: web, ip: 10.244.1.11, mac: 02:00:00:00:77:10 }  #!\n", "pods[0].mac", "is node.uplink.mac" },
        { Node + "pods:\n  - { name: a, ip: 10.244.1.11, mac: 02:00:00:00:00:0b }\n  - { name: b, ip: 10.244.1.12, mac: 02:00:00:00:00:0B }  #!\n", "pods[1].mac", "duplicate of pods[0].mac" },
        { Node + "pods:\n  - { name: web, ip: 10.244.1.11, mac: 01:00:5e:00:00:01 }  #!\n", "pods[0].mac", "group (multicast)" },
        { Node + "pods:\n  - { name: web, ip: 10.244.1.11, mac: 02:00:00:00:00:0b, netns: 'a/b' }  #!\n", "pods[0].netns", "not a valid network namespace name" },
        {
            Node + "pods:\n  - { name: web, ip: 10.244.1.11, mac: 02:00:00:00:00:0b, netns: shared }\n  - { name: db, ip: 10.244.1.12, mac: 02:00:00:00:00:0c, netns: shared }  #!\n",
            "pods[1].netns", "'shared' is also pods[0].netns: each pod needs a network namespace of its own"
        },
        {
            Node + "pods:\n  - { name: web, ip: 10.244.1.11, mac: 02:00:00:00:00:0b }\n  - { name: db, ip: 10.244.1.12, mac: 02:00:00:00:00:0c, netns: node-a-web }  #!\n",
            "pods[1].netns", "'node-a-web' is the namespace of the pod at pods[0].name"
        },
        {
            Nd(name: LongNodeName) + "dataplane: { controlSocket: /run/dp.sock }\npods:\n  - { name: web, ip: 10.244.1.11, mac: 02:00:00:00:00:0b }\n  - { name: web-1, ip: 10.244.1.12, mac: 02:00:00:00:00:0c }  #!\n",
            "pods[1].name", "longer than 255 characters: give the pod a netns"
        },
    };

    public static TheoryData<string, string, string> RouteCases() => new()
    {
        { Nd(uplink: null) + "routes:\n  - { cidr: 10.244.2.0/24, via: 192.168.77.11 }  #!\n", "routes", "routes need node.uplink" },
        { Node + "routes:\n  - { cidr: 10.244.2.1/24, via: 192.168.77.11 }  #!\n", "routes[0].cidr", "host bits set" },
        { Node + "routes:\n  - { cidr: 10.244.1.128/25, via: 192.168.77.11 }  #!\n", "routes[0].cidr", "it would shadow this node's own pods" },
        { Node + "routes:\n  - { cidr: 10.244.1.0/24, via: 192.168.77.11 }  #!\n", "routes[0].cidr", "overlaps node.podCidr 10.244.1.0/24" },
        { Node + "routes:\n  - { cidr: 10.244.0.0/16, via: 192.168.77.11 }  #!\n", "routes[0].cidr", "by containing it" },
        { DualStackNode + "routes:\n  - { cidr: 'fd00:10:244::/48', via: 'fd00:77::11' }  #!\n", "routes[0].cidr", "overlaps node.podCidrV6" },
        { Node + "routes:\n  - { cidr: 10.244.2.0/24, via: 192.168.77.11 }\n  - { cidr: 10.244.2.0/24, via: 192.168.77.12 }  #!\n", "routes[1].cidr", "duplicate of routes[0].cidr" },
        { Node + "routes:\n  - { cidr: 10.244.2.0/24, via: 'fd00:77::11' }  #!\n", "routes[0].via", "must be the same family" },
        { Node + "routes:\n  - cidr: 10.244.2.0/24\n    via: 192.168.78.11  #!\n", "routes[0].via", "not on the uplink's subnet 192.168.77.0/24" },
        { Node + "routes:\n  - { cidr: 10.244.2.0/24, via: 192.168.77.10 }  #!\n", "routes[0].via", "is node.uplink.ip itself" },
        { Node + "routes:\n  - { cidr: 10.244.2.0/24, via: 192.168.77.255 }  #!\n", "routes[0].via", "broadcast address of the uplink's subnet" },
        { Node + "routes:\n  - { cidr: 10.244.2.0/24 }  #!\n", "routes[0].via", "required key 'via' is missing" },
        { Node + "routes:\n  - { cidr: 'fd00:10:244:2::/64', via: 'fd00:77::11' }  #!\n", "routes[0].via", "needs node.uplink.ipV6" },
        { DualStackNode + "routes:\n  - { cidr: 'fd00:10:244:2::/64', via: 'fd00:78::11' }  #!\n", "routes[0].via", "neither on the uplink's subnet fd00:77::/64" },
        { Node + "routes:\n  - { cidr: 10.244.2.0/24, via: 192.168.77.11, viaMac: ff:ff:ff:ff:ff:ff }  #!\n", "routes[0].viaMac", "group (multicast)" },
        { Node + "routes:\n  - { cidr: 10.244.2.0/24, via: 192.168.77.11, viaMac: 02:00:00:00:77:10 }  #!\n", "routes[0].viaMac", "is node.uplink.mac" },
    };

    public static TheoryData<string, string, string> ServiceCases() => new()
    {
        { Svc("name: Web  #!"), "services[0].name", "DNS-1123 label" },
        {
            Node + "services:\n  - { name: web, clusterIP: 10.96.0.10, ports: [{ port: 80 }] }\n  - { name: web, clusterIP: 10.96.0.11, ports: [{ port: 80 }] }  #!\n",
            "services[1].name", "duplicate of services[0].name"
        },
        { Node + "services:\n  - name: web  #!\n    ports: [{ port: 80 }]\n", "services[0]", "needs clusterIP (or clusterIPs for dual stack)" },
        { Svc("name: web", clusterIp: "10.244.1.50  #!"), "services[0].clusterIP", "inside node.podCidr 10.244.1.0/24" },
        { Svc("name: web", clusterIp: "192.168.77.10  #!"), "services[0].clusterIP", "is node.uplink.ip" },
        { Svc("name: web", clusterIp: "224.0.0.1  #!"), "services[0].clusterIP", "not a unicast address" },
        { Node + "services:\n  - name: web\n    clusterIp: 10.96.0.10  #!\n    ports: [{ port: 80 }]\n", "services[0].clusterIp", "no longer read: use 'clusterIP'" },
        { Svc("name: web\n    clusterIpV6: 'fd00:96::10'  #!"), "services[0].clusterIpV6", "use 'clusterIPs: [IPv4, IPv6]'" },
        { Svc("name: web\n    affinityTimeoutSeconds: 60  #!"), "services[0].affinityTimeoutSeconds", "use 'sessionAffinityConfig: { clientIP: { timeoutSeconds: N } }'" },
        { Svc("name: web\n    clusterIPs: [10.96.0.11, 'fd00:96::10']  #!"), "services[0].clusterIPs", "its first address 10.96.0.11 must be clusterIP 10.96.0.10" },
        { Node + "services:\n  - name: web\n    clusterIPs: [10.96.0.10, 10.96.0.11]  #!\n    ports: [{ port: 80 }]\n", "services[0].clusterIPs[1]", "a second IPv4 cluster IP" },
        { Svc("name: web", clusterIp: "None  #!"), "services[0].clusterIP", "headless service" },
        { Svc("name: web\n    namespace: Shop_1  #!"), "services[0].namespace", "DNS-1123 label" },
        { DualStackNode + "services:\n  - name: web\n    clusterIP: 'fd00:10:244:1::10'  #!\n    ports: [{ port: 80 }]\n", "services[0].clusterIP", "inside node.podCidrV6" },
        { Svc("name: web\n    sessionAffinity: Sticky  #!"), "services[0].sessionAffinity", "'Sticky' is not one of None, ClientIP" },
        { Svc("name: web\n    sessionAffinityConfig: { clientIP: { timeoutSeconds: 0 } }  #!"), "services[0].sessionAffinityConfig.clientIP.timeoutSeconds", "out of range 1..86400" },
        { Svc("name: web\n    scheduler: wrr  #!"), "services[0].scheduler", "not one of maglev, random, roundrobin, leastconn" },
        { Svc("name: web", ports: "[{ port: 0 }]  #!"), "services[0].ports[0].port", "0 is out of range 1..65535" },
        { Svc("name: web", ports: "[{ port: http }]  #!"), "services[0].ports[0].port", "expected an integer, got 'http'" },
        { Svc("name: web", ports: "[{ port: 80, targetPort: 70000 }]  #!"), "services[0].ports[0].targetPort", "out of range 1..65535" },
        { Svc("name: web", ports: "[{ port: 80, protocol: ICMP }]  #!"), "services[0].ports[0].protocol", "'ICMP' is not one of TCP, UDP, SCTP" },
        { Svc("name: web", ports: "[{ port: 80, nodePort: 8080 }]  #!"), "services[0].ports[0].nodePort", "out of range 30000..32767" },
        { Svc("name: web", ports: "\n      - { port: 80 }\n      - { port: 80, protocol: tcp }  #!"), "services[0].ports[1].port", "TCP/80 is a duplicate of services[0].ports[0]" },
        { Svc("name: web", ports: "\n      - { name: http, port: 80 }\n      - { name: http, port: 81 }  #!"), "services[0].ports[1].name", "duplicate of services[0].ports[0].name" },
        { Svc("name: web", ports: "\n      - { name: HTTP, port: 80 }  #!"), "services[0].ports[0].name", "DNS-1123 label" },
        { Node + "services:\n  - name: web  #!\n    clusterIP: 10.96.0.10\n", "services[0].ports", "required key 'ports' is missing" },
        { Svc("name: web", ports: "[]  #!"), "services[0].ports", "at least one port" },
        { Svc("name: web", endpoints: "\n      - { ip: 10.244.1.11 }\n      - { ip: 10.244.1.11 }  #!"), "services[0].endpoints[1].ip", "duplicate of services[0].endpoints[0].ip" },
        { Svc("name: web", endpoints: "[{ ip: 'fd00::11' }]  #!"), "services[0].endpoints[0].ip", "IPv6 but the service has no IPv6 cluster IP" },
        { Svc("name: web", endpoints: "[{ ip: 10.244.1.11, weight: 0 }]  #!"), "services[0].endpoints[0].weight", "out of range 1..256" },
        { Svc("name: web", endpoints: "[{ ip: 10.244.1.11, weight: 257 }]  #!"), "services[0].endpoints[0].weight", "out of range 1..256" },
        { Svc("name: web", endpoints: "[{ ip: 10.244.1.11, terminating: yes }]  #!"), "services[0].endpoints[0].terminating", "expected true or false, got 'yes'" },
        { Svc("name: web", endpoints: "[{ ip: web-1 }]  #!"), "services[0].endpoints[0].ip", "'web-1' is not an IP address" },
        {
            Node + "services:\n  - { name: a, clusterIP: 10.96.0.10, ports: [{ port: 80 }] }\n  - { name: b, clusterIP: 10.96.0.10, ports: [{ port: 80 }] }  #!\n",
            "services[1].ports[0].port", "10.96.0.10 TCP/80 is already served by services[0].ports[0]"
        },
        {
            Node + "services:\n  - { name: a, type: NodePort, clusterIP: 10.96.0.10, ports: [{ port: 80, nodePort: 30080 }] }\n  - { name: b, type: NodePort, clusterIP: 10.96.0.11, ports: [{ port: 80, nodePort: 30080 }] }  #!\n",
            "services[1].ports[0].nodePort", "TCP/30080 is already used by services[0].ports[0].nodePort"
        },
    };

    public static TheoryData<string, string, string> ExposureCases() => new()
    {
        { Svc("name: web", ports: "[{ port: 80, nodePort: 30080 }]  #!"), "services[0].ports[0].nodePort", "may not be used when the service's type is ClusterIP" },
        { Svc("name: web\n    type: NodePort", ports: "[{ port: 80 }]  #!"), "services[0].ports[0].nodePort", "required for type NodePort" },
        { Svc("name: web\n    type: Ingress  #!"), "services[0].type", "not one of ClusterIP, NodePort, LoadBalancer" },
        {
            Node.Replace("  uplink:", "  nodePortRange: 20000-20999\n  uplink:", StringComparison.Ordinal) + "services:\n  - name: web\n    type: NodePort\n    clusterIP: 10.96.0.10\n    ports: [{ port: 80, nodePort: 30080 }]  #!\n",
            "services[0].ports[0].nodePort", "out of range 20000..20999"
        },
        {
            Svc("name: web\n    type: LoadBalancer\n    status: { loadBalancer: { ingress: [{ ip: 10.244.1.50 }] } }  #!", ports: "[{ port: 80, nodePort: 30080 }]"),
            "services[0].status.loadBalancer.ingress[0].ip", "inside node.podCidr 10.244.1.0/24"
        },
        { Svc("name: web\n    externalIPs: [192.168.77.10]  #!"), "services[0].externalIPs[0]", "is node.uplink.ip (use a nodePort)" },
        { Svc("name: web\n    externalIPs: ['fd00::5']  #!"), "services[0].externalIPs[0]", "node.uplink has no ipV6" },
        { Svc("name: web\n    externalIPs: [ext-1]  #!"), "services[0].externalIPs[0]", "'ext-1' is not an IP address" },
        {
            Node + "services:\n  - { name: a, clusterIP: 10.96.0.10, externalIPs: [203.0.113.7], ports: [{ port: 80 }] }\n  - { name: b, clusterIP: 10.96.0.11, externalIPs: [203.0.113.7], ports: [{ port: 80 }] }  #!\n",
            "services[1].externalIPs[0]", "203.0.113.7 TCP/80 is already served by services[0].externalIPs[0]"
        },
        { Svc("name: web\n    externalTrafficPolicy: Local  #!"), "services[0].externalTrafficPolicy", "only be set for a service reachable from outside" },
        {
            Svc("name: web\n    type: LoadBalancer\n    healthCheckNodePort: 31000  #!", ports: "[{ port: 80, nodePort: 30080 }]"),
            "services[0].healthCheckNodePort", "LoadBalancer with externalTrafficPolicy: Local"
        },
        {
            Svc("name: web\n    type: LoadBalancer\n    externalTrafficPolicy: Local\n    healthCheckNodePort: 30080  #!", ports: "[{ port: 80, nodePort: 30080 }]"),
            "services[0].healthCheckNodePort", "TCP/30080 is already used by services[0].ports[0].nodePort"
        },
        { Svc("name: web\n    type: NodePort\n    loadBalancerSourceRanges: [10.0.0.0/8]  #!", ports: "[{ port: 80, nodePort: 30080 }]"), "services[0].loadBalancerSourceRanges", "only be set for type LoadBalancer" },
        { Svc("name: web\n    type: LoadBalancer\n    loadBalancerSourceRanges: [10.0.0.1/8]  #!", ports: "[{ port: 80, nodePort: 30080 }]"), "services[0].loadBalancerSourceRanges[0]", "host bits set" },
        { Svc("name: web", endpoints: "[{ ip: 10.244.1.11, nodeName: '' }]  #!"), "services[0].endpoints[0].nodeName", "1 to 253 characters" },
        { Node.Replace("  uplink:", "  nodePortRange: 30000  #!\n  uplink:", StringComparison.Ordinal), "node.nodePortRange", "not a port range" },
        { Node.Replace("  uplink:", "  masquerade: { ports: 40000-40010 }  #!\n  uplink:", StringComparison.Ordinal), "node.masquerade.ports", "holds 11 ports outside node.nodePortRange" },
        { Node.Replace("  uplink:", "  masquerade: { ports: 30000-32800 }  #!\n  uplink:", StringComparison.Ordinal), "node.masquerade.ports", "holds 33 ports outside node.nodePortRange 30000-32767" },
        { Node.Replace("  uplink:", "  masquerade: { nonMasqueradeCidrs: [10.0.0.0] }  #!\n  uplink:", StringComparison.Ordinal), "node.masquerade.nonMasqueradeCidrs[0]", "is not a CIDR" },
    };

    public static TheoryData<string, string, string> TuningCases() => new()
    {
        { Node + "conntrack:\n  maxEntries: 100  #!\n", "conntrack.maxEntries", "100 is out of range 1024..67108864" },
        { Node + "conntrack:\n  timeouts: { udp: 0 }  #!\n", "conntrack.timeouts.udp", "out of range 1..2147483" },
        { Node + "conntrack:\n  timeouts:\n    tcpEstablished: 2147484  #!\n", "conntrack.timeouts.tcpEstablished", "out of range 1..2147483" },
        { Node + "conntrack:\n  timeouts:\n    tcpSynRcvd: 60  #!\n", "conntrack.timeouts.tcpSynRcvd", "did you mean 'tcpSynRecv'?" },
        { Node + "dataplane:\n  batchSize: 512  #!\n", "dataplane.batchSize", "out of range 1..256" },
        { Node + "dataplane:\n  workers: 0  #!\n", "dataplane.workers", "out of range 1..64" },
        { Node + "dataplane:\n  io: epoll  #!\n", "dataplane.io", "'epoll' is not one of syscalls, uring" },
        { Node + "dataplane:\n  macAgingSeconds: -1  #!\n", "dataplane.macAgingSeconds", "-1 is out of range" },
        { Node + "dataplane:\n  controlSocket: run/dp.sock  #!\n", "dataplane.controlSocket", "must be an absolute path" },
        { Nd(name: LongNodeName).Replace("node:\n", "node:  #!\n", StringComparison.Ordinal), "dataplane", "controlSocket defaults to /run/dataplane/{node}.sock: '/run/dataplane/nnn" },
        { Node + "dataplane:\n  controlSocket: /run/" + new string('d', 100) + "/{node}.sock  #!\n", "dataplane.controlSocket", "longer than 107 bytes" },
    };

    public static TheoryData<string, string, string> ShapeCases() => new()
    {
        { "- node  #!\n", "", "expected a mapping (key: value), got a list" },
        { "node: node-a  #!\n", "node", "expected a mapping (key: value), got 'node-a'" },
        { Node + "pods: { name: web }  #!\n", "pods", "expected a list, got a mapping" },
        { Node + "pods:\n  - web-1  #!\n", "pods[0]", "expected a mapping (key: value), got 'web-1'" },
        { Nd(extra: "  podCIDR: 10.244.1.0/24  #!\n"), "node.podCIDR", "unknown key 'podCIDR' (did you mean 'podCidr'?); valid keys: name, podCidr, podCidrV6, gatewayIp, gatewayIpV6, mac, mtu, uplink" },
        { Node + "service: []  #!\n", "service", "did you mean 'services'?" },
        { Node + "pods:\n  - { name: web, ip: 10.244.1.11, mac: 02:00:00:00:00:0b, namespace: x }  #!\n", "pods[0].namespace", "unknown key 'namespace'" },
        { Svc("name: web", ports: "[{ port: 80, taregtPort: 8080 }]  #!"), "services[0].ports[0].taregtPort", "did you mean 'targetPort'?" },
        { Node + "pods:\n  - { name: web, ip: 10.244.1.11, mac: 02:00:00:00:00:0b, [x]: 1 }  #!\n", "pods[0]", "keys must be plain names" },
    };

    /// <summary>A node section with one field swapped; <paramref name="uplink"/> null drops the uplink.</summary>
    /// <summary>A valid node.name of 251 characters: with a pod's name or the control socket's directory, too long.</summary>
    private static readonly string LongNodeName = string.Join('.', Enumerable.Repeat(new string('n', 62), 4));

    private static string Nd(
        string name = "node-a",
        string podCidr = "10.244.1.0/24",
        string gatewayIp = "10.244.1.1",
        string mac = "02:00:00:00:01:01",
        string extra = "",
        string? uplink = "{ interface: up0, ip: 192.168.77.10/24, mac: 02:00:00:00:77:10 }")
        => $"node:\n  name: {name}\n  podCidr: {podCidr}\n  gatewayIp: {gatewayIp}\n  mac: {mac}\n{extra}"
            + (uplink is null ? "" : $"  uplink: {uplink}\n");

    /// <summary><see cref="Node"/> plus one service; <paramref name="head"/> holds its name line and any extra keys.</summary>
    private static string Svc(string head, string clusterIp = "10.96.0.10", string ports = "[{ port: 80 }]", string endpoints = "[]")
        => Node + $"services:\n  - {head}\n    clusterIP: {clusterIp}\n    ports: {ports}\n    endpoints: {endpoints}\n";
}
