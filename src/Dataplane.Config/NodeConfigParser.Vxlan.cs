using Dataplane.Model;
using Dataplane.Packets;

namespace Dataplane.Config;

/// <summary>
/// <c>node.vxlan</c> and the VXLAN form of a route (<c>{ cidr, vtep, vtepMac }</c>), shaped after what flannel's vxlan
/// backend programs on a Linux node: a VNI, a UDP port, one VTEP MAC per node, and per other node its pod CIDR, its
/// public (uplink) IP and its VTEP MAC. The VTEP must be on the uplink's subnet (it is resolved with ARP there, as a
/// host-gw next hop is), and pods need room for the 50 bytes of outer headers under the uplink's MTU.
/// </summary>
internal sealed partial class NodeConfigParser
{
    private static readonly string[] s_vxlanKeys = ["vni", "port", "mac"];

    /// <summary>The largest VNI: 24 bits (RFC 7348 section 5).</summary>
    private const int MaxVni = (1 << 24) - 1;

    private VxlanConfig? ReadVxlan(ConfigMapping node)
    {
        _hasVxlan = node.Has("vxlan");
        if (node.Mapping("vxlan", s_vxlanKeys) is not { } m)
        {
            return null;
        }

        if (!_hasUplink)
        {
            node.Error("vxlan", "node.vxlan needs node.uplink, which is not set: the tunnel endpoint is the uplink's IP");
            return null;
        }

        int vni = m.Int("vni", 0, MaxVni, VxlanConfig.DefaultVni);
        int port = m.Int("port", 1, 65535, VxlanConfig.DefaultPort);
        _vxlanMac = m.Mac("mac", required: true);
        if (_vxlanMac is not { } mac)
        {
            return null;
        }

        return new VxlanConfig(vni, (ushort)port, mac);
    }

    /// <summary>
    /// The pods' MTU with VXLAN: when node.mtu is not set, the uplink's less the outer headers (what flannel gives its
    /// pods); a larger one set explicitly is refused, as its pods' full-size packets could never cross.
    /// </summary>
    private static int VxlanMtu(ConfigMapping node, int mtu, int uplinkMtu)
    {
        int max = uplinkMtu - VxlanConfig.Overhead;
        if (!node.Has("mtu"))
        {
            return Math.Min(mtu, max);
        }

        if (mtu > max)
        {
            node.Error("mtu", $"{mtu} is too large for VXLAN: pods need at most node.uplink.mtu {uplinkMtu} - {VxlanConfig.Overhead} (outer headers) = {max}");
        }

        return mtu;
    }

    /// <summary>A route with <c>vtep</c>: the VTEP IP (IPv4, on the uplink's subnet) and its MAC; null when invalid (reported).</summary>
    private RouteConfig? ReadVxlanRoute(ConfigMapping m, IpPrefix? cidr)
    {
        bool valid = true;
        if (m.Has("via"))
        {
            m.Error("via", "a route takes either via (routed to a next hop) or vtep (VXLAN to another node's tunnel endpoint), not both");
            valid = false;
        }

        if (m.Has("viaMac"))
        {
            m.Error("viaMac", "viaMac goes with via; a VXLAN route names its peer's MAC as vtepMac");
            valid = false;
        }

        IpAddress? vtep = m.Ip("vtep", required: true);
        if (vtep is { } endpoint)
        {
            if (!_hasVxlan)
            {
                m.Error("vtep", "a VXLAN route needs node.vxlan (vni, port, mac), which is not set");
                valid = false;
            }
            else if (!endpoint.IsV4)
            {
                m.Error("vtep", $"'{endpoint}' is IPv6; VXLAN runs over the uplink's IPv4 (node.uplink.ip)");
                valid = false;
            }
            else if (NextHopProblem(endpoint, null) is { } problem)
            {
                m.Error("vtep", problem);
                valid = false;
            }
        }

        MacAddress? vtepMac = m.Mac("vtepMac", required: true);
        if (vtepMac is { } mac && mac == _vxlanMac)
        {
            m.Error("vtepMac", $"'{mac}' is node.vxlan.mac, this node's own tunnel endpoint; the peer's VTEP has its own MAC");
            valid = false;
        }

        return valid && cidr is { } prefix && vtep is { } ip && vtepMac is not null ? new RouteConfig(prefix, ip, null, vtepMac) : null;
    }
}
