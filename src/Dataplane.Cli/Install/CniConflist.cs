using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Dataplane.Model;
using Dataplane.Packets;

namespace Dataplane.Cli.Install;

/// <summary>
/// The network configuration list a container runtime reads from /etc/cni/net.d for this node's pods:
/// <code>
/// {"cniVersion":"1.0.0","name":"dataplane","plugins":[{"type":"dataplane-cni","socket":"/run/dataplane/node-a.sock",
///   "ipam":{"type":"host-local","ranges":[[{"subnet":"10.244.1.0/24","gateway":"10.244.1.1"}],
///                                        [{"subnet":"fd00:10:244:1::/64","gateway":"fd00:10:244:1::1"}]]}}]}
/// </code>
/// One host-local range set per family (host-local then hands each pod one address of each), the gateway the first
/// address of the CIDR: the address the daemon answers as the pods' gateway (the pod-add it receives must name it).
/// Built from validated input only: <see cref="Create"/> refuses, with one line naming the problem, anything the
/// plugin or the daemon would refuse later, at every pod start.
/// </summary>
internal sealed record CniConflist(string NodeName, IpPrefix PodCidr, IpPrefix? PodCidrV6, string Socket, int? Mtu, string CniVersion)
{
    /// <summary>"10-": runtimes use the first file by name, and 10 leaves room before it for an operator's own.</summary>
    public const string FileName = "10-dataplane.conflist";

    public const string NetworkName = "dataplane";

    public const string PluginType = "dataplane-cni";

    /// <summary>
    /// containerd 1.7 (libcni 1.1) speaks CNI up to 1.0.0 and fails every pod whose network says 1.1.0; 1.1.0 (GC and
    /// STATUS) needs containerd 2.0 or CRI-O 1.30. So 1.0.0, unless told otherwise.
    /// </summary>
    public const string DefaultCniVersion = "1.0.0";

    /// <summary>The versions dataplane-cni speaks (its CniVersions.Supported; a test holds the two together).</summary>
    public static readonly IReadOnlyList<string> CniVersions = ["0.4.0", "1.0.0", "1.1.0"];

    /// <summary>sun_path holds 108 bytes with the terminating NUL, so a longer control socket cannot be bound.</summary>
    private const int MaxUnixSocketPath = 107;

    /// <summary>The daemon's rules for node.podCidr / node.podCidrV6: room for the gateway and at least one pod.</summary>
    private const int LongestV4 = 30;
    private const int LongestV6 = 126;

    /// <summary>node.mtu's range; IPv6 needs 1280 (RFC 8200 section 5).</summary>
    private const int MinMtu = 576;
    private const int MaxMtu = 65535;
    private const int MinIpv6Mtu = 1280;

    private static readonly JsonSerializerOptions s_indented = new() { WriteIndented = true };

    /// <summary>The pods' IPv4 gateway: the first address of <see cref="PodCidr"/>.</summary>
    public IpAddress Gateway => PodCidr.FirstHost;

    /// <summary>The pods' IPv6 gateway, when the node has an IPv6 pod CIDR.</summary>
    public IpAddress? GatewayV6 => PodCidrV6?.FirstHost;

    /// <summary>
    /// Checks the input and builds the conflist: <paramref name="podCidrs"/> as a Node's <c>spec.podCIDRs</c> (one per
    /// family, IPv4 required), <paramref name="socketTemplate"/> as dataplane.controlSocket (<c>{node}</c> becomes the
    /// node's name), <paramref name="mtu"/> null to leave the pods' MTU to the daemon (node.mtu, which knows the VXLAN
    /// overhead). Throws <see cref="CniInstallException"/> naming the first problem.
    /// </summary>
    public static CniConflist Create(string nodeName, IReadOnlyList<string> podCidrs, string socketTemplate, int? mtu, string cniVersion)
    {
        if (NodeNameProblem(nodeName) is { } nameProblem)
        {
            throw new CniInstallException(nameProblem);
        }

        IpPrefix? v4 = null, v6 = null;
        foreach (string text in podCidrs)
        {
            if (!IpPrefix.TryParse(text.Trim(), out IpPrefix cidr, out string? error))
            {
                throw new CniInstallException($"pod CIDR {error}");
            }

            if ((cidr.IsV4 ? v4 : v6) is { } first)
            {
                throw new CniInstallException($"two {Family(cidr)} pod CIDRs ({first} and {cidr}): a node has at most one per family, as in spec.podCIDRs");
            }

            int longest = cidr.IsV4 ? LongestV4 : LongestV6;
            if (cidr.Length > longest)
            {
                throw new CniInstallException($"pod CIDR '{cidr}' is too small: it needs room for the gateway and at least one pod (/{longest} or shorter)");
            }

            if (cidr.IsV4)
            {
                v4 = cidr;
            }
            else
            {
                v6 = cidr;
            }
        }

        if (v4 is not { } podCidr)
        {
            throw new CniInstallException(podCidrs.Count == 0
                ? "no pod CIDR given"
                : $"no IPv4 pod CIDR in {string.Join(", ", podCidrs)}: the daemon gives every pod an IPv4 address, so an IPv6-only node is not supported");
        }

        string socket = NodeConfig.ExpandControlSocket(socketTemplate, nodeName);
        if (!socket.StartsWith('/'))
        {
            throw new CniInstallException($"control socket '{socket}' must be an absolute path");
        }

        if (Encoding.UTF8.GetByteCount(socket) > MaxUnixSocketPath)
        {
            throw new CniInstallException($"control socket '{socket}' is longer than {MaxUnixSocketPath} bytes, the limit for a unix socket path");
        }

        if (mtu is < MinMtu or > MaxMtu)
        {
            throw new CniInstallException($"MTU {mtu} is out of range {MinMtu}..{MaxMtu}");
        }

        if (mtu < MinIpv6Mtu && v6 is not null)
        {
            throw new CniInstallException($"MTU {mtu} is below {MinIpv6Mtu}, the minimum for IPv6 (RFC 8200 section 5), and the node has an IPv6 pod CIDR");
        }

        if (!CniVersions.Contains(cniVersion))
        {
            throw new CniInstallException($"CNI version '{cniVersion}' is not one dataplane-cni speaks ({string.Join(", ", CniVersions)})");
        }

        return new CniConflist(nodeName, podCidr, v6, socket, mtu, cniVersion);
    }

    /// <summary>The file's text: indented, so `cat` on a node shows what the runtime reads.</summary>
    public string ToJson()
    {
        var ranges = new JsonArray(Range(PodCidr, Gateway));
        if (PodCidrV6 is { } v6)
        {
            ranges.Add(Range(v6, GatewayV6!.Value));
        }

        var plugin = new JsonObject { ["type"] = PluginType, ["socket"] = Socket };
        if (Mtu is { } mtu)
        {
            plugin["mtu"] = mtu;
        }

        plugin["ipam"] = new JsonObject { ["type"] = "host-local", ["ranges"] = ranges };
        var list = new JsonObject
        {
            ["cniVersion"] = CniVersion,
            ["name"] = NetworkName,
            ["plugins"] = new JsonArray(plugin),
        };
        return list.ToJsonString(s_indented) + "\n";
    }

    /// <summary>One line for the log: what pods on this node will get.</summary>
    public string Summary() =>
        $"node {NodeName}: pods in {PodCidr} (gateway {Gateway})"
        + (PodCidrV6 is { } v6 ? $" and {v6} (gateway {GatewayV6})" : "")
        + $", daemon at {Socket}, CNI {CniVersion}";

    /// <summary>
    /// A Kubernetes node name is a DNS-1123 subdomain; checked here because it becomes part of a path (the socket's).
    /// </summary>
    private static string? NodeNameProblem(string name)
    {
        const string rule = "a node name is a DNS-1123 subdomain: dot-separated labels of lowercase letters, digits and '-', each starting and ending with a letter or digit, at most 253 characters";
        if (string.IsNullOrEmpty(name))
        {
            return "no node name given (--node-name, or NODE_NAME from the downward API's spec.nodeName)";
        }

        bool valid = name.Length <= 253 && name.Split('.').All(static label => label.Length is > 0 and <= 63
            && IsAlphanumeric(label[0]) && IsAlphanumeric(label[^1]) && label.All(static c => IsAlphanumeric(c) || c == '-'));
        return valid ? null : $"node name '{name}' is invalid: {rule}";
    }

    private static bool IsAlphanumeric(char c) => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c);

    private static JsonArray Range(IpPrefix subnet, IpAddress gateway) =>
        new(new JsonObject { ["subnet"] = subnet.ToString(), ["gateway"] = gateway.ToString() });

    private static string Family(IpPrefix cidr) => cidr.IsV4 ? "IPv4" : "IPv6";
}

/// <summary>An install-cni failure, its message one line naming the problem (no stack trace reaches the user).</summary>
internal sealed class CniInstallException(string message, Exception? inner = null) : Exception(message, inner);
