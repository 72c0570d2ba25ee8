using Dataplane.Model;
using Dataplane.Packets;
using YamlDotNet.RepresentationModel;

namespace Dataplane.Config;

/// <summary>The <c>pods:</c> list: each pod's addresses live in this node's pod CIDRs and nothing is shared between pods.</summary>
internal sealed partial class NodeConfigParser
{
    private static readonly string[] s_podKeys = ["name", "ip", "ipV6", "mac", "netns"];

    private List<PodConfig> ReadPods(ConfigMapping top)
    {
        var pods = new List<PodConfig>();
        var names = new Dictionary<string, string>(StringComparer.Ordinal);
        var ips = new Dictionary<Ip4Address, string>();
        var ip6s = new Dictionary<Ip6Address, string>();
        var macs = new Dictionary<MacAddress, string>();
        var namespaces = new List<(ConfigMapping Pod, string? Name, string? Netns)>();
        foreach ((YamlNode item, string path) in top.Sequence("pods"))
        {
            if (_reader.Mapping(item, path, s_podKeys) is not { } m)
            {
                continue;
            }

            string? name = UniqueName(m, names, required: true);

            Ip4Address? ip = m.Ip4("ip", required: true, v6Key: "ipV6");
            if (ip is { } address)
            {
                if (PodIpProblem(address) is { } problem)
                {
                    m.Error("ip", problem);
                }
                else if (!ips.TryAdd(address, m.PathOf("ip")))
                {
                    m.Error("ip", Duplicate(address, ips[address]));
                }
            }

            Ip6Address? ip6 = m.Ip6("ipV6", v4Key: "ip");
            if (ip6 is { } address6)
            {
                if (PodIpV6Problem(address6) is { } problem)
                {
                    m.Error("ipV6", problem);
                }
                else if (!ip6s.TryAdd(address6, m.PathOf("ipV6")))
                {
                    m.Error("ipV6", Duplicate(address6, ip6s[address6]));
                }
            }

            MacAddress? mac = m.Mac("mac", required: true);
            if (mac is { } podMac)
            {
                if (podMac == _nodeMac)
                {
                    m.Error("mac", $"'{podMac}' is node.mac, the gateway MAC pods send to; each pod needs its own");
                }
                else if (podMac == _uplinkMac)
                {
                    m.Error("mac", $"'{podMac}' is node.uplink.mac; each pod needs its own");
                }
                else if (!macs.TryAdd(podMac, m.PathOf("mac")))
                {
                    m.Error("mac", Duplicate(podMac, macs[podMac]));
                }
            }

            string? netns = m.String("netns");
            if (netns is not null && NameRules.NetnsNameProblem(netns) is { } netnsProblem)
            {
                m.Error("netns", netnsProblem);
                netns = null;
            }

            namespaces.Add((m, name, netns));

            if (name is not null && ip is not null && mac is not null)
            {
                pods.Add(new PodConfig(name, ip.Value, ip6, mac.Value, netns));
            }
        }

        CheckNamespacesNotShared(namespaces);
        return pods;
    }

    /// <summary>
    /// Each pod's eth0 is made in its own network namespace (<c>netns</c>, else <c>{node.name}-{name}</c>); two pods
    /// naming one would fail half-way through start-up, the second attach finding the first's eth0.
    /// </summary>
    private void CheckNamespacesNotShared(List<(ConfigMapping Pod, string? Name, string? Netns)> namespaces)
    {
        if (_nodeName is null)
        {
            return;
        }

        var defaults = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach ((ConfigMapping pod, string? name, string? netns) in namespaces)
        {
            if (netns is null && name is not null)
            {
                string byDefault = $"{_nodeName}-{name}";
                if (NameRules.NetnsNameProblem(byDefault) is not null)
                {
                    // node.name (up to 253) and the pod's name (up to 63) may be valid alone and too long together.
                    pod.Error("name", $"the pod's network namespace would be '{byDefault}' ({{node.name}}-{{name}}), longer than 255 characters: give the pod a netns");
                    continue;
                }

                defaults.TryAdd(byDefault, pod.PathOf("name"));
            }
        }

        var given = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach ((ConfigMapping pod, _, string? netns) in namespaces)
        {
            if (netns is null)
            {
                continue;
            }

            if (!given.TryAdd(netns, pod.PathOf("netns")))
            {
                pod.Error("netns", $"'{netns}' is also {given[netns]}: each pod needs a network namespace of its own");
            }
            else if (defaults.TryGetValue(netns, out string? other))
            {
                pod.Error("netns", $"'{netns}' is the namespace of the pod at {other} (a pod without netns gets {{node.name}}-{{name}}): each pod needs a network namespace of its own");
            }
        }
    }

    private string? PodIpProblem(Ip4Address address)
    {
        if (_podCidr is not { } podCidr)
        {
            return null;
        }

        if (!podCidr.Contains(address))
        {
            return $"'{address}' is outside node.podCidr {podCidr}";
        }

        if (address == _gateway)
        {
            return $"'{address}' is node.gatewayIp, which belongs to the dataplane";
        }

        return AddressRules.IsReservedV4(podCidr, address)
            ? $"'{address}' is the {NetworkOrBroadcast(podCidr, address)} address of node.podCidr {podCidr}"
            : null;
    }

    private string? PodIpV6Problem(Ip6Address address)
    {
        if (!_hasPodCidrV6)
        {
            return $"'{address}' needs node.podCidrV6, which is not set";
        }

        if (_podCidrV6 is not { } podCidr6)
        {
            return null;
        }

        if (!podCidr6.Contains(address))
        {
            return $"'{address}' is outside node.podCidrV6 {podCidr6}";
        }

        if (address == _gatewayV6)
        {
            return _gatewayV6Defaulted
                ? $"'{address}' is the node's IPv6 gateway (node.gatewayIpV6 defaults to the first address of node.podCidrV6)"
                : $"'{address}' is node.gatewayIpV6, which belongs to the dataplane";
        }

        return address == podCidr6.Address.V6
            ? $"'{address}' is the subnet-router anycast address of node.podCidrV6 {podCidr6} (RFC 4291 2.6.1)"
            : null;
    }
}
