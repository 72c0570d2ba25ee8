using System.Globalization;
using Dataplane.Model;
using Dataplane.Packets;
using YamlDotNet.RepresentationModel;

namespace Dataplane.Config;

/// <summary>
/// The node's keys for traffic between the cluster and the outside: <c>nodePortRange</c>, <c>masquerade</c> and
/// <c>announceExternalIps</c>, plus the list readers the services' external addresses share.
/// </summary>
internal sealed partial class NodeConfigParser
{
    private static readonly string[] s_masqueradeKeys = ["enabled", "nonMasqueradeCidrs", "ports"];

    private int _nodePortMin = ExternalTraffic.Default.NodePortMin;
    private int _nodePortMax = ExternalTraffic.Default.NodePortMax;

    private ExternalTraffic ReadExternal(ConfigMapping node)
    {
        ExternalTraffic defaults = ExternalTraffic.Default;
        (int Min, int Max)? nodePorts = PortRange(node, "nodePortRange", 1);
        if (nodePorts is { } range)
        {
            (_nodePortMin, _nodePortMax) = range;
        }

        bool masquerade = defaults.Masquerade;
        IReadOnlyList<IpPrefix>? nonMasquerade = null;
        (int Min, int Max) snat = (defaults.SnatPortMin, defaults.SnatPortMax);
        if (node.Mapping("masquerade", s_masqueradeKeys) is { } m)
        {
            masquerade = m.Bool("enabled", defaults.Masquerade);
            if (m.Has("nonMasqueradeCidrs"))
            {
                nonMasquerade = PrefixList(m, "nonMasqueradeCidrs");
            }

            if (PortRange(m, "ports", 1024) is { } ports)
            {
                int usable = ports.Max - ports.Min + 1 - Math.Max(0, Math.Min(ports.Max, _nodePortMax) - Math.Max(ports.Min, _nodePortMin) + 1);
                if (usable < 64)
                {
                    m.Error("ports", $"{ports.Min}-{ports.Max} holds {usable} ports outside node.nodePortRange {_nodePortMin}-{_nodePortMax}; masquerade needs at least 64");
                }
                else
                {
                    snat = ports;
                }
            }
        }

        bool announce = node.Bool("announceExternalIps", defaults.AnnounceExternalIps);
        return new ExternalTraffic(_nodePortMin, _nodePortMax, masquerade, nonMasquerade, snat.Min, snat.Max, announce);
    }

    /// <summary><c>A-B</c> with <paramref name="lowest"/> &lt;= A &lt;= B &lt;= 65535; null when absent or wrong (after an error).</summary>
    private static (int Min, int Max)? PortRange(ConfigMapping m, string key, int lowest)
    {
        if (m.String(key) is not { } text)
        {
            return null;
        }

        string[] parts = text.Split('-', StringSplitOptions.TrimEntries);
        if (parts.Length == 2
            && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int min)
            && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int max)
            && min >= lowest && max <= 65535 && min <= max)
        {
            return (min, max);
        }

        m.Error(key, $"'{text}' is not a port range FIRST-LAST within {lowest}-65535 (e.g. 30000-32767)");
        return null;
    }

    /// <summary>A list of CIDRs; wrong items are reported and left out.</summary>
    private List<IpPrefix> PrefixList(ConfigMapping m, string key)
    {
        var prefixes = new List<IpPrefix>();
        foreach ((YamlNode item, string path) in m.Sequence(key))
        {
            if (item is not YamlScalarNode { Value: { } text })
            {
                _reader.Error(item, path, $"expected a CIDR, got {ConfigReader.Describe(item)}");
            }
            else if (!IpPrefix.TryParse(text, out IpPrefix prefix, out string? error))
            {
                _reader.Error(item, path, error ?? $"'{text}' is not a CIDR");
            }
            else
            {
                prefixes.Add(prefix);
            }
        }

        return prefixes;
    }

    /// <summary>A list of unicast addresses; wrong items are reported and left out.</summary>
    private List<(IpAddress Address, YamlNode Item, string Path)> AddressList(IReadOnlyList<(YamlNode Item, string Path)> items)
    {
        var addresses = new List<(IpAddress, YamlNode, string)>();
        foreach ((YamlNode item, string path) in items)
        {
            if (item is not YamlScalarNode { Value: { } value })
            {
                _reader.Error(item, path, $"expected an IP address, got {ConfigReader.Describe(item)}");
                continue;
            }

            if (!IpAddress.TryParse(value, out IpAddress address))
            {
                _reader.Error(item, path, $"'{value}' is not an IP address");
            }
            else if (address.IsV4 ? address.V4.IsZero || address.V4.IsMulticast || address.V4.IsLimitedBroadcast : address.V6.IsZero || address.V6.IsMulticast)
            {
                _reader.Error(item, path, $"'{value}' is not a unicast address");
            }
            else
            {
                addresses.Add((address, item, path));
            }
        }

        return addresses;
    }
}
