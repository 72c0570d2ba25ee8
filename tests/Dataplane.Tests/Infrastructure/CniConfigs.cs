using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Dataplane.Tests.Infrastructure;

/// <summary>Network configuration lists (CNI spec 1.0.0) for the tests: Debian's bridge, our dataplane-cni, tuning.</summary>
public static class CniConfigs
{
    public const string CniVersion = "1.0.0";

    /// <summary>Where Debian's containernetworking-plugins installs bridge, host-local, tuning, ...</summary>
    public const string DebianPluginDirectory = "/usr/lib/cni";

    /// <summary>host-local IPAM over one range, keeping its leases in <paramref name="dataDir"/> (never /var/lib/cni).</summary>
    public static JsonObject HostLocal(string subnet, string gateway, string dataDir, string? rangeStart = null, string? rangeEnd = null)
    {
        var range = new JsonObject { ["subnet"] = subnet, ["gateway"] = gateway };
        if (rangeStart is not null)
        {
            range["rangeStart"] = rangeStart;
        }

        if (rangeEnd is not null)
        {
            range["rangeEnd"] = rangeEnd;
        }

        return new JsonObject { ["type"] = "host-local", ["ranges"] = new JsonArray(new JsonArray(range)), ["dataDir"] = dataDir };
    }

    /// <summary>
    /// Debian's bridge plugin as the kernel baseline: it creates <paramref name="bridge"/> in the namespace it runs in
    /// (so only ever run it inside a test namespace), owns the gateway address there, and never masquerades.
    /// </summary>
    public static JsonObject Bridge(string bridge, JsonObject ipam) => new()
    {
        ["type"] = "bridge",
        ["bridge"] = bridge,
        ["isGateway"] = true,
        ["ipMasq"] = false,
        ["hairpinMode"] = false,
        ["ipam"] = ipam,
    };

    /// <summary>Our plugin: it asks the daemon behind <paramref name="socket"/> for the pod's TAP, and delegates IPAM.</summary>
    public static JsonObject Dataplane(string socket, JsonObject ipam, int mtu = 1500) => new()
    {
        ["type"] = "dataplane-cni",
        ["socket"] = socket,
        ["mtu"] = mtu,
        ["ipam"] = ipam,
    };

    /// <summary>The tuning meta-plugin, chained after an interface plugin: sysctls inside the pod's namespace.</summary>
    public static JsonObject Tuning(IReadOnlyDictionary<string, string> sysctls)
    {
        var values = new JsonObject();
        foreach ((string key, string value) in sysctls)
        {
            values[key] = value;
        }

        return new JsonObject { ["type"] = "tuning", ["sysctl"] = values };
    }

    /// <summary>Writes a conflist named <paramref name="name"/> with (copies of) the plugins in order; returns <paramref name="path"/>.</summary>
    public static string Write(string path, string name, params JsonObject[] plugins)
    {
        var list = new JsonObject
        {
            ["cniVersion"] = CniVersion,
            ["name"] = name,
            ["plugins"] = new JsonArray([.. plugins.Select(p => p.DeepClone())]),
        };
        File.WriteAllText(path, list.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        return path;
    }

    /// <summary>The addresses a result's "ips" list holds, without prefix length.</summary>
    public static IReadOnlyList<string> ResultAddresses(JsonElement result) =>
        [.. result.GetProperty("ips").EnumerateArray().Select(ip => ip.GetProperty("address").GetString()!.Split('/')[0])];

    /// <summary>Whether <paramref name="address"/> lies in <paramref name="cidr"/> (IPv4 or IPv6).</summary>
    public static bool InSubnet(string address, string cidr) => IPNetwork.Parse(cidr).Contains(IPAddress.Parse(address));
}

/// <summary>host-local's lease files: one file per address in DATADIR/NETWORK, besides its lock and last_reserved_ip.*.</summary>
public static class HostLocalLeases
{
    public static IReadOnlyList<string> Reserved(string dataDir, string network)
    {
        string dir = Path.Combine(dataDir, network);
        return Directory.Exists(dir)
            ? [.. Directory.EnumerateFiles(dir).Select(Path.GetFileName).Where(name => IPAddress.TryParse(name, out _)).Order(StringComparer.Ordinal)!]
            : [];
    }
}

/// <summary>Namespaces the test does not name one by one (`cni-driver bench --create-netns` makes PREFIX0..PREFIXn).</summary>
public static class NamespacePrefix
{
    /// <summary>A unique "dpt-xxxxxx" + <paramref name="role"/> prefix.</summary>
    public static string New(string role) => TestNamespaces.UniqueName() + role;

    public static IReadOnlyList<string> Existing(string prefix) =>
        [.. TestNamespaces.ListNamespaces().Where(ns => ns.StartsWith(prefix, StringComparison.Ordinal))];

    /// <summary>Deletes every namespace whose name starts with <paramref name="prefix"/> (a `dpt-` prefix only).</summary>
    public static void DeleteAll(string prefix)
    {
        if (!prefix.StartsWith(TestNamespaces.Prefix, StringComparison.Ordinal) || prefix.Length <= TestNamespaces.Prefix.Length)
        {
            throw new InvalidOperationException($"refusing to delete namespaces by prefix '{prefix}'");
        }

        foreach (string ns in Existing(prefix))
        {
            TestNamespaces.Delete(ns);
        }
    }
}

/// <summary>
/// The kernel baseline: a node namespace (`dpt-xxxxxx`) in which the libcni driver runs Debian's bridge plugin with
/// host-local, so the bridge, the host ends of the veths and the gateway address all live in that namespace. Pods
/// are more test namespaces. Dispose deletes every namespace (bench prefixes too) and the temp directory.
/// </summary>
public sealed class BridgeCniNode : IDisposable
{
    public const string Subnet = "10.244.1.0/24";
    public const string Gateway = "10.244.1.1";
    public const string BridgeName = "dpt-br0";
    public const string NetworkName = "dpt-bridge";

    private readonly TestNamespaces _namespaces = new();
    private readonly List<string> _prefixes = [];

    public BridgeCniNode()
    {
        Directory = System.IO.Directory.CreateTempSubdirectory(TestNamespaces.Prefix + "cni-").FullName;
        try
        {
            Namespace = _namespaces.Add();
            TestNamespaces.Exec(Namespace, "ip", "link", "set", "lo", "up").EnsureSuccess();
            IpamDirectory = System.IO.Directory.CreateDirectory(Path.Combine(Directory, "ipam")).FullName;
            string cache = System.IO.Directory.CreateDirectory(Path.Combine(Directory, "cache")).FullName;
            string conflist = CniConfigs.Write(Path.Combine(Directory, "bridge.conflist"), NetworkName,
                CniConfigs.Bridge(BridgeName, CniConfigs.HostLocal(Subnet, Gateway, IpamDirectory)));
            Network = new CniNetwork(conflist, [CniConfigs.DebianPluginDirectory], cache, Namespace);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>The node namespace: the bridge plugin runs here (never in the host's).</summary>
    public string Namespace { get; } = "";

    public string Directory { get; }

    public string IpamDirectory { get; } = "";

    public CniNetwork Network { get; } = null!;

    /// <summary>The addresses host-local has handed out and not released.</summary>
    public IReadOnlyList<string> Leases => HostLocalLeases.Reserved(IpamDirectory, NetworkName);

    /// <summary>A new, empty pod namespace (deleted at Dispose).</summary>
    public string NewPodNamespace() => _namespaces.Add();

    /// <summary>A bench prefix whose leftovers Dispose deletes.</summary>
    public string NewPrefix(string role)
    {
        string prefix = NamespacePrefix.New(role);
        _prefixes.Add(prefix);
        return prefix;
    }

    public void Dispose()
    {
        var errors = new List<string>();
        foreach (string prefix in _prefixes)
        {
            try
            {
                NamespacePrefix.DeleteAll(prefix);
            }
            catch (InvalidOperationException ex)
            {
                errors.Add(ex.Message);
            }
        }

        try
        {
            // The node namespace takes the bridge and the host ends of every veth with it.
            _namespaces.Dispose();
        }
        catch (InvalidOperationException ex)
        {
            errors.Add(ex.Message);
        }

        System.IO.Directory.Delete(Directory, recursive: true);
        if (errors.Count > 0)
        {
            throw new InvalidOperationException("bridge CNI node cleanup: " + string.Join("; ", errors));
        }
    }
}
