using System.Globalization;
using System.Text;
using Dataplane.Model;
using Dataplane.Packets;

namespace Dataplane.Config;

/// <summary>
/// Prints a <see cref="NodeConfig"/> as YAML that <see cref="NodeConfigLoader"/> reads back to the same values, with
/// every default written out: what a <c>config show</c> command prints so an operator sees what the node really runs.
/// Comments and key order of the original file are not kept; the representation model does not carry comments.
/// </summary>
public static class NodeConfigWriter
{
    /// <param name="includeServices">False writes no `services` key, for documents that supply their own.</param>
    public static string Write(NodeConfig config, bool includeServices = true)
    {
        ArgumentNullException.ThrowIfNull(config);
        var w = new StringBuilder();
        NodeSettings node = config.Node;
        w.Append("node:\n");
        Line(w, 1, "name", Text(node.Name));
        Line(w, 1, "podCidr", Prefix(node.PodCidr));
        if (node.PodCidrV6 is { } podCidrV6)
        {
            Line(w, 1, "podCidrV6", Prefix(podCidrV6));
        }

        Line(w, 1, "gatewayIp", node.GatewayIp.ToString());
        if (node.GatewayIpV6 is { } gatewayV6)
        {
            Line(w, 1, "gatewayIpV6", Ip6(gatewayV6));
        }

        Line(w, 1, "mac", node.Mac.ToString());
        Line(w, 1, "mtu", Int(node.Mtu));
        if (node.Uplink is { } uplink)
        {
            w.Append("  uplink:\n");
            Line(w, 2, "interface", Text(uplink.Interface));
            Line(w, 2, "ip", $"{uplink.Ip}/{Int(uplink.PrefixLength)}");
            if (uplink.IpV6 is { } ipV6)
            {
                Line(w, 2, "ipV6", Text($"{ipV6}/{Int(uplink.PrefixLengthV6)}"));
            }

            Line(w, 2, "mac", uplink.Mac.ToString());
            Line(w, 2, "mtu", Int(uplink.Mtu));
            if (uplink.Gateway is { } gateway)
            {
                Line(w, 2, "gateway", gateway.ToString());
            }

            if (uplink.GatewayMac is { } gatewayMac)
            {
                Line(w, 2, "gatewayMac", gatewayMac.ToString());
            }

            if (uplink.GatewayV6 is { } gatewayV6Uplink)
            {
                Line(w, 2, "gatewayV6", Ip6(gatewayV6Uplink));
            }
        }

        if (node.Vxlan is { } vxlan)
        {
            w.Append("  vxlan:\n");
            Line(w, 2, "vni", Int(vxlan.Vni));
            Line(w, 2, "port", Int(vxlan.Port));
            Line(w, 2, "mac", vxlan.Mac.ToString());
        }

        if (node.HostPort is { } hostPort)
        {
            w.Append("  hostPort:\n");
            Line(w, 2, "name", Text(hostPort.Name));
            Line(w, 2, "mac", hostPort.Mac.ToString());
        }

        ExternalTraffic external = node.External;
        Line(w, 1, "nodePortRange", $"{Int(external.NodePortMin)}-{Int(external.NodePortMax)}");
        w.Append("  masquerade:\n");
        Line(w, 2, "enabled", external.Masquerade ? "true" : "false");
        if (external.NonMasqueradeCidrs is { } inside)
        {
            Line(w, 2, "nonMasqueradeCidrs", $"[{string.Join(", ", inside.Select(Prefix))}]");
        }

        Line(w, 2, "ports", $"{Int(external.SnatPortMin)}-{Int(external.SnatPortMax)}");
        Line(w, 1, "announceExternalIps", external.AnnounceExternalIps ? "true" : "false");

        List(w, 0, "pods", config.Pods, static (w, pod) =>
        {
            Item(w, 2, "name", Text(pod.Name));
            Line(w, 2, "ip", pod.Ip.ToString());
            if (pod.IpV6 is { } ipV6)
            {
                Line(w, 2, "ipV6", Ip6(ipV6));
            }

            Line(w, 2, "mac", pod.Mac.ToString());
            if (pod.Netns is { } netns)
            {
                Line(w, 2, "netns", Text(netns));
            }
        });

        List(w, 0, "routes", config.Routes, static (w, route) =>
        {
            Item(w, 2, "cidr", Prefix(route.Cidr));
            if (route.VtepMac is { } vtepMac)
            {
                Line(w, 2, "vtep", Ip(route.Via));
                Line(w, 2, "vtepMac", vtepMac.ToString());
                return;
            }

            Line(w, 2, "via", Ip(route.Via));
            if (route.ViaMac is { } viaMac)
            {
                Line(w, 2, "viaMac", viaMac.ToString());
            }
        });

        List(w, 0, includeServices ? "services" : "", config.Services, static (w, service) =>
        {
            (string ns, string name) = ServiceNames.Split(service.Name);
            Item(w, 2, "name", Text(name));
            Line(w, 2, "namespace", Text(ns));
            if (service.ClusterIp is { } clusterIp && service.ClusterIpV6 is { } dual)
            {
                Line(w, 2, "clusterIPs", $"[{clusterIp}, {Ip6(dual)}]");
            }
            else if (service.ClusterIp is { } v4)
            {
                Line(w, 2, "clusterIP", v4.ToString());
            }
            else if (service.ClusterIpV6 is { } v6)
            {
                Line(w, 2, "clusterIP", Ip6(v6));
            }

            Line(w, 2, "sessionAffinity", service.SessionAffinity == SessionAffinity.ClientIP ? "ClientIP" : "None");
            Line(w, 2, "sessionAffinityConfig", $"{{ clientIP: {{ timeoutSeconds: {Int(service.AffinityTimeoutSeconds)} }} }}");
            Line(w, 2, "scheduler", service.Scheduler.ToString().ToLowerInvariant());
            WriteExposure(w, service.Exposure);
            List(w, 2, "ports", service.Ports, static (w, port) =>
            {
                // A port's name is optional, so the item starts with the one key every port has.
                Item(w, 4, "protocol", port.Protocol.ToString().ToUpperInvariant());
                if (port.Name is { } name)
                {
                    Line(w, 4, "name", Text(name));
                }

                Line(w, 4, "port", Int(port.Port));
                Line(w, 4, "targetPort", Int(port.TargetPort));
                if (port.NodePort is { } nodePort)
                {
                    Line(w, 4, "nodePort", Int(nodePort));
                }
            });
            List(w, 2, "endpoints", service.Endpoints, static (w, endpoint) =>
            {
                Item(w, 4, "ip", Ip(endpoint.Ip));
                Line(w, 4, "weight", Int(endpoint.Weight));
                Line(w, 4, "terminating", endpoint.Terminating ? "true" : "false");
                if (endpoint.NodeName is { } nodeName)
                {
                    Line(w, 4, "nodeName", Text(nodeName));
                }
            });
        });

        ConntrackTimeouts t = config.Conntrack.Timeouts;
        w.Append("conntrack:\n");
        Line(w, 1, "maxEntries", Int(config.Conntrack.MaxEntries));
        Line(w, 1, "accounting", config.Conntrack.Accounting ? "true" : "false");
        ConntrackPodLimits perPod = config.Conntrack.PerPod;
        w.Append("  perPod:\n");
        if (perPod.MaxEntries is { } podEntries)
        {
            Line(w, 2, "maxEntries", Int(podEntries));
        }

        Line(w, 2, "newFlowsPerSecond", Int(perPod.NewFlowsPerSecond));
        Line(w, 2, "burst", Int(perPod.Burst));
        w.Append("  timeouts:\n");
        Line(w, 2, "tcpEstablished", Int(t.TcpEstablished));
        Line(w, 2, "tcpSynSent", Int(t.TcpSynSent));
        Line(w, 2, "tcpSynRecv", Int(t.TcpSynRecv));
        Line(w, 2, "tcpFinWait", Int(t.TcpFinWait));
        Line(w, 2, "tcpCloseWait", Int(t.TcpCloseWait));
        Line(w, 2, "tcpLastAck", Int(t.TcpLastAck));
        Line(w, 2, "tcpTimeWait", Int(t.TcpTimeWait));
        Line(w, 2, "tcpClose", Int(t.TcpClose));
        Line(w, 2, "udp", Int(t.Udp));
        Line(w, 2, "udpStream", Int(t.UdpStream));
        Line(w, 2, "icmp", Int(t.Icmp));

        DataplaneSettings d = config.Dataplane;
        w.Append("dataplane:\n");
        Line(w, 1, "batchSize", Int(d.BatchSize));
        Line(w, 1, "workers", Int(d.Workers));
        Line(w, 1, "macTableCapacity", Int(d.MacTableCapacity));
        Line(w, 1, "macAgingSeconds", Int(d.MacAgingSeconds));
        Line(w, 1, "icmpErrorsPerSecond", Int(d.IcmpErrorsPerSecond));
        Line(w, 1, "icmpErrorBurst", Int(d.IcmpErrorBurst));
        Line(w, 1, "controlSocket", Text(d.ControlSocket));
        Line(w, 1, "offloads", d.Offloads ? "true" : "false");
        Line(w, 1, "busyPollMicroseconds", Int(d.BusyPollMicroseconds));
        Line(w, 1, "io", d.Io == WorkerIo.Uring ? "uring" : "syscalls");
        Line(w, 1, "maxPods", Int(d.MaxPods));
        Line(w, 1, "stateDirectory", Text(d.StateDirectory));
        if (d.ControlGroup is not null)
        {
            Line(w, 1, "controlGroup", Text(d.ControlGroup));
        }

        Line(w, 1, "controlMaxConnections", Int(d.ControlMaxConnections));
        Line(w, 1, "controlIdleTimeoutSeconds", Int(d.ControlIdleTimeoutSeconds));
        Line(w, 1, "controlRequestTimeoutSeconds", Int(d.ControlRequestTimeoutSeconds));
        if (d.MetricsAddress is not null)
        {
            Line(w, 1, "metricsAddress", Text(d.MetricsAddress));
        }

        return w.ToString();
    }

    private static void WriteExposure(StringBuilder w, ServiceExposure exposure)
    {
        if (exposure == ServiceExposure.ClusterIpOnly)
        {
            return;
        }

        Line(w, 2, "type", exposure.Type.ToString());
        if (exposure.ExternalIps.Count > 0)
        {
            Line(w, 2, "externalIPs", $"[{string.Join(", ", exposure.ExternalIps.Select(Ip))}]");
        }

        if (exposure.LoadBalancerIps.Count > 0)
        {
            Line(w, 2, "status", $"{{ loadBalancer: {{ ingress: [{string.Join(", ", exposure.LoadBalancerIps.Select(ip => $"{{ ip: {Ip(ip)} }}"))}] }} }}");
        }

        if (exposure.HasNodePorts || exposure.ExternalIps.Count > 0)
        {
            Line(w, 2, "externalTrafficPolicy", exposure.ExternalTrafficPolicy.ToString());
        }

        Line(w, 2, "internalTrafficPolicy", exposure.InternalTrafficPolicy.ToString());
        if (exposure.HealthCheckNodePort is { } health)
        {
            Line(w, 2, "healthCheckNodePort", Int(health));
        }

        if (exposure.LoadBalancerSourceRanges.Count > 0)
        {
            Line(w, 2, "loadBalancerSourceRanges", $"[{string.Join(", ", exposure.LoadBalancerSourceRanges.Select(Prefix))}]");
        }
    }

    private static void Line(StringBuilder w, int depth, string key, string value)
        => w.Append(' ', depth * 2).Append(key).Append(": ").Append(value).Append('\n');

    /// <summary>The first key of a list item, behind its "- "; the item's other keys are written at the same <paramref name="depth"/>.</summary>
    private static void Item(StringBuilder w, int depth, string key, string value)
        => w.Append(' ', (depth * 2) - 2).Append("- ").Append(key).Append(": ").Append(value).Append('\n');

    /// <summary>Writes `key:` and its items; an empty <paramref name="key"/> writes nothing.</summary>
    private static void List<T>(StringBuilder w, int depth, string key, IReadOnlyList<T> items, Action<StringBuilder, T> writeItem)
    {
        if (key.Length == 0)
        {
            return;
        }

        w.Append(' ', depth * 2).Append(key).Append(items.Count == 0 ? ": []\n" : ":\n");
        foreach (T item in items)
        {
            writeItem(w, item);
        }
    }

    private static string Int(int value) => value.ToString(CultureInfo.InvariantCulture);

    // IPv6 text can end in "::", and a plain scalar ending in ':' would read as a mapping key, so it is always quoted.
    private static string Ip6(Ip6Address address) => Text(address.ToString());

    private static string Ip(IpAddress address) => address.IsV4 ? address.ToString() : Ip6(address.V6);

    private static string Prefix(IpPrefix prefix) => prefix.IsV4 ? prefix.ToString() : Text(prefix.ToString());

    /// <summary>A YAML double-quoted scalar: free-form strings may hold anything YAML gives meaning to ('{', '#', ': ').</summary>
    private static string Text(string value)
    {
        var quoted = new StringBuilder(value.Length + 2).Append('"');
        foreach (char c in value)
        {
            _ = c switch
            {
                '"' => quoted.Append("\\\""),
                '\\' => quoted.Append("\\\\"),
                < ' ' or '\u007f' => quoted.Append(CultureInfo.InvariantCulture, $"\\x{(int)c:x2}"),
                _ => quoted.Append(c),
            };
        }

        return quoted.Append('"').ToString();
    }
}
