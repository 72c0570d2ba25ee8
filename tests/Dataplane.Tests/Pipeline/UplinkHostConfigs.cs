using Dataplane.Config;
using Dataplane.Model;
using static Dataplane.Tests.Pipeline.TestNode;

namespace Dataplane.Tests.Pipeline;

/// <summary>The test node with more keys in its <c>node.uplink</c> mapping and, optionally, a host port.</summary>
internal static class UplinkHostConfigs
{
    public const string OutsideIp = "192.168.77.50";
    public const string OutsideMac = "02:00:00:00:77:50";
    public const string OutsideIp6 = "fd00:77::50";
    public const string RouterIp = "192.168.77.1";
    public const string RouterMac = "02:00:00:00:77:01";
    public const string RouterIp6 = "fd00:77::1";
    public const string InternetIp = "203.0.113.7";
    public const string InternetIp6 = "2001:db8::7";
    public const string HostName = "dp-host";

    /// <summary>The kernel side's MAC by default: 0a:58: and the node's IPv4 192.168.77.10.</summary>
    public const string HostMac = "0a:58:c0:a8:4d:0a";

    /// <summary>fe80:: and the modified EUI-64 of <see cref="HostMac"/>: the kernel's link-local by default.</summary>
    public const string HostLinkLocal = "fe80::858:c0ff:fea8:4d0a";

    /// <summary>
    /// Masquerade is off: these tests look at where frames go and how neighbours resolve, with the pods' own addresses
    /// (ExternalTrafficTests covers the masquerade of the same traffic).
    /// </summary>
    public static NodeConfig Config(string uplinkKeys = "", string nodeKeys = "", string services = DefaultServices)
    {
        string yaml = Yaml(services);
        string uplink = $"  uplink: {{ interface: up0, ip: {UplinkIp}/24, ipV6: {UplinkIp6}/64, mac: {UplinkMac} }}\n";
        Assert.Contains(uplink, yaml);
        string replaced = uplink.Replace(" }\n", (uplinkKeys.Length == 0 ? "" : ", " + uplinkKeys) + " }\n", StringComparison.Ordinal)
            + (nodeKeys.Length == 0 ? "" : $"  {nodeKeys}\n") + "  masquerade: { enabled: false }\n";
        return NodeConfigLoader.Parse(yaml.Replace(uplink, replaced, StringComparison.Ordinal), "test-node.yaml").ThrowIfInvalid();
    }

    public static NodeConfig WithHostPort(string uplinkKeys = "", string services = DefaultServices)
        => Config(uplinkKeys, $"hostPort: {{ name: {HostName} }}", services);
}
