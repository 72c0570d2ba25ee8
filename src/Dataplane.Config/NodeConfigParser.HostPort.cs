using Dataplane.Model;
using Dataplane.Packets;

namespace Dataplane.Config;

/// <summary>
/// <c>node.uplink</c>'s default routes (<c>gateway</c>, <c>gatewayMac</c>, <c>gatewayV6</c>) and <c>node.hostPort</c>,
/// the node kernel's own port. A gateway is a next hop like a route's <c>via</c>, so it follows the same rules: on the
/// uplink's subnet (or IPv6 link-local), not the uplink's own address.
/// </summary>
internal sealed partial class NodeConfigParser
{
    private static readonly string[] s_hostPortKeys = ["name", "mac"];

    // Kept for the checks against pods, which are read after the node section.
    private ConfigMapping? _hostPortMapping;
    private HostPortConfig? _hostPort;

    private (Ip4Address? Gateway, MacAddress? GatewayMac, Ip6Address? GatewayV6) ReadGateways(ConfigMapping uplink)
    {
        Ip4Address? gateway = uplink.Ip4("gateway", v6Key: "gatewayV6");
        if (gateway is { } v4 && NextHopProblem(v4, cidr: null) is { } problem)
        {
            uplink.Error("gateway", problem);
            gateway = null;
        }

        MacAddress? gatewayMac = uplink.Mac("gatewayMac");
        if (gatewayMac is { } mac)
        {
            if (!uplink.Has("gateway"))
            {
                uplink.Error("gatewayMac", $"'{mac}' needs node.uplink.gateway, which is not set: it is the IPv4 gateway's MAC");
            }
            else if (mac == _uplinkMac)
            {
                uplink.Error("gatewayMac", $"'{mac}' is node.uplink.mac; the gateway is another machine");
            }
        }

        Ip6Address? gateway6 = uplink.Ip6("gatewayV6", v4Key: "gateway");
        if (gateway6 is { } v6)
        {
            if (!_hasUplinkIpV6)
            {
                uplink.Error("gatewayV6", $"'{v6}' needs node.uplink.ipV6, which is not set");
                gateway6 = null;
            }
            else if (NextHopProblem(v6, cidr: null) is { } problem6)
            {
                uplink.Error("gatewayV6", problem6);
                gateway6 = null;
            }
        }

        return (gateway, gatewayMac, gateway6);
    }

    private HostPortConfig? ReadHostPort(ConfigMapping node)
    {
        if (!node.Has("hostPort"))
        {
            // `hostPort:` with no value still asks for the host port, with its defaults; no key at all is no host port.
            return ReferenceEquals(node.At("hostPort"), node.Node) ? null : HostPortWithDefaults(node, m: null);
        }

        return node.Mapping("hostPort", s_hostPortKeys) is { } m ? HostPortWithDefaults(node, m) : null;
    }

    private HostPortConfig? HostPortWithDefaults(ConfigMapping node, ConfigMapping? m)
    {
        _hostPortMapping = m;
        if (!_hasUplink)
        {
            node.Error("hostPort", "the host port needs node.uplink, which is not set: the node's kernel takes the uplink's addresses");
            return null;
        }

        string name = m?.String("name") ?? HostPortConfig.DefaultName;
        if (NameRules.InterfaceNameProblem(name) is { } nameProblem)
        {
            m!.Error("name", nameProblem);
            return null;
        }

        if (name == "uplink")
        {
            m!.Error("name", "'uplink' is the uplink port's name; the host port needs another");
            return null;
        }

        MacAddress? given = m?.Mac("mac");
        if (m is not null && m.Has("mac") && given is null)
        {
            return null;
        }

        if (_uplinkIp is not { } nodeIp)
        {
            return null; // node.uplink.ip is reported already
        }

        MacAddress mac = given ?? HostPortConfig.DefaultMac(nodeIp);
        string which = given is null ? $"the default host port MAC '{mac}' (0a:58: and node.uplink.ip)" : $"'{mac}'";
        if (mac == _nodeMac)
        {
            HostPortError(node, "mac", $"{which} is node.mac, the dataplane's MAC toward the kernel; the kernel side needs its own");
            return null;
        }

        if (mac == _uplinkMac)
        {
            HostPortError(node, "mac", $"{which} is node.uplink.mac; the kernel side needs its own");
            return null;
        }

        _hostPort = new HostPortConfig(name, mac);
        return _hostPort;
    }

    /// <summary>Pods are read after the node: a pod may not take the host port's name (both are ports) or its MAC.</summary>
    private void CheckHostPortAgainstPods(ConfigMapping top, IReadOnlyList<PodConfig> pods)
    {
        if (_hostPort is not { } host)
        {
            return;
        }

        for (int i = 0; i < pods.Count; i++)
        {
            if (pods[i].Name == host.Name)
            {
                HostPortError(top, "name", $"'{host.Name}' is also pods[{i}].name; the host port and the pods are ports of one node and need distinct names");
            }

            if (pods[i].Mac == host.Mac)
            {
                HostPortError(top, "mac", $"'{host.Mac}' is also pods[{i}].mac; the kernel side of the host port needs its own MAC");
            }
        }
    }

    /// <summary>At <c>node.hostPort.KEY</c> when it was written, else at <c>node.hostPort</c>.</summary>
    private void HostPortError(ConfigMapping parent, string key, string problem)
    {
        if (_hostPortMapping is { } m && m.Has(key))
        {
            m.Error(key, problem);
        }
        else if (_hostPortMapping is { } mapping)
        {
            _reader.Error(mapping.Node, mapping.Path, problem);
        }
        else
        {
            _reader.Error(parent.At("hostPort"), "node.hostPort", problem);
        }
    }
}
