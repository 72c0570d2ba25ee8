namespace Dataplane.Fuzz.Targets;

/// <summary>
/// The nodes the pipeline target forwards for, chosen to reach every stage: pods with IPv4 and IPv6, a routed
/// uplink with resolved and unresolved next hops, the host port, masquerade, and services of every kind
/// (ClusterIP, NodePort, LoadBalancer with source ranges, external IPs, session affinity); and a VXLAN node.
/// Tables are small so that full tables are reached too. No default route: building one writes all 16M entries of
/// the IPv4 FIB's first level (about 40 ms, most of an input's time); a /24 "outside" route takes masqueraded flows.
/// </summary>
internal static class FuzzNodes
{
    public const string Routed = """
        node:
          name: node-a
          podCidr: 10.244.1.0/24
          podCidrV6: fd00:10:244:1::/64
          gatewayIp: 10.244.1.1
          gatewayIpV6: fd00:10:244:1::1
          mac: 02:00:00:00:01:01
          uplink: { interface: up0, ip: 192.168.77.10/24, ipV6: fd00:77::10/64, mac: 02:00:00:00:77:10 }
          hostPort: { name: dp-host }
          masquerade: { enabled: true, nonMasqueradeCidrs: [10.244.0.0/16] }
          announceExternalIps: true
        pods:
          - { name: web-1, ip: 10.244.1.11, ipV6: fd00:10:244:1::11, mac: 02:00:0a:f4:01:0b }
          - { name: web-2, ip: 10.244.1.12, ipV6: fd00:10:244:1::12, mac: 02:00:0a:f4:01:0c }
          - { name: client, ip: 10.244.1.20, ipV6: fd00:10:244:1::20, mac: 02:00:0a:f4:01:14 }
        routes:
          - { cidr: 10.244.2.0/24, via: 192.168.77.11, viaMac: 02:00:00:00:77:11 }
          - { cidr: 10.244.3.0/24, via: 192.168.77.12 }
          - { cidr: fd00:10:244:2::/64, via: fd00:77::11, viaMac: 02:00:00:00:77:11 }
          - { cidr: 203.0.113.0/24, via: 192.168.77.1 }   # the outside world, masqueraded
        services:
          - name: web
            clusterIPs: [10.96.0.10, fd00:96::10]
            sessionAffinity: ClientIP
            ports:
              - { name: http, protocol: TCP, port: 80, targetPort: 8080 }
              - { name: dns, protocol: UDP, port: 53, targetPort: 5353 }
              - { name: sctp, protocol: SCTP, port: 9000, targetPort: 9000 }
            endpoints:
              - { ip: 10.244.1.11 }
              - { ip: 10.244.2.12 }
              - { ip: fd00:10:244:1::11 }
          - name: shop
            type: LoadBalancer
            scheduler: roundrobin
            clusterIP: 10.96.0.20
            externalIPs: [192.168.77.200]
            status: { loadBalancer: { ingress: [ { ip: 192.168.77.100 } ] } }
            externalTrafficPolicy: Local
            healthCheckNodePort: 32000
            loadBalancerSourceRanges: [192.168.77.0/24]
            ports:
              - { name: https, protocol: TCP, port: 443, targetPort: 8443, nodePort: 30443 }
            endpoints:
              - { ip: 10.244.1.12, nodeName: node-a }
              - { ip: 10.244.2.12, nodeName: node-b }
          - name: ports
            type: NodePort
            scheduler: leastconn
            clusterIP: 10.96.0.30
            ports:
              - { name: udp, protocol: UDP, port: 5000, targetPort: 5000, nodePort: 30500 }
            endpoints:
              - { ip: 10.244.1.20 }
        conntrack:
          maxEntries: 1024
        dataplane:
          maxPods: 4
          icmpErrorsPerSecond: 1000
        """;

    public const string Vxlan = """
        node:
          name: node-a
          podCidr: 10.244.1.0/24
          podCidrV6: fd00:10:244:1::/64
          gatewayIp: 10.244.1.1
          gatewayIpV6: fd00:10:244:1::1
          mac: 02:00:00:00:01:01
          uplink: { interface: up0, ip: 192.168.77.10/24, mac: 02:00:00:00:77:10 }
          vxlan: { vni: 1, port: 8472, mac: 0a:00:0a:f4:01:00 }
        pods:
          - { name: web-1, ip: 10.244.1.11, mac: 02:00:0a:f4:01:0b }
          - { name: client, ip: 10.244.1.20, ipV6: fd00:10:244:1::20, mac: 02:00:0a:f4:01:14 }
        routes:
          - { cidr: 10.244.2.0/24, vtep: 192.168.77.11, vtepMac: 0a:00:0a:f4:02:00 }
          - { cidr: fd00:10:244:2::/64, vtep: 192.168.77.11, vtepMac: 0a:00:0a:f4:02:00 }
          - { cidr: 10.244.3.0/24, vtep: 192.168.77.12, vtepMac: 0a:00:0a:f4:03:00 }
        services:
          - name: web
            clusterIP: 10.96.0.10
            ports:
              - { name: http, protocol: TCP, port: 80, targetPort: 8080 }
            endpoints:
              - { ip: 10.244.1.11 }
              - { ip: 10.244.2.12 }
        conntrack:
          maxEntries: 1024
        dataplane:
          maxPods: 4
        """;
}
