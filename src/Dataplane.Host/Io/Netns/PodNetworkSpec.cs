using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using Dataplane.Io.Tap;

namespace Dataplane.Io.Netns;

/// <summary>What <see cref="PodNetwork.Create"/> builds for one pod.</summary>
public sealed record PodNetworkSpec
{
    /// <summary>The pod's namespace: a name under /var/run/netns, or a path to a namespace file.</summary>
    public required string Namespace { get; init; }

    /// <summary>
    /// Create the namespace if it does not exist (only for a name, or a path directly under /var/run/netns);
    /// the pod network then owns it and deletes it on dispose. A namespace that already existed is never deleted.
    /// </summary>
    public bool CreateNamespaceIfAbsent { get; init; } = true;

    /// <summary>The TAP's name inside the pod (it is made there under this name).</summary>
    public string InterfaceName { get; init; } = "eth0";

    public required PhysicalAddress Mac { get; init; }

    public int Mtu { get; init; } = 1500;

    public required IPAddress IPv4 { get; init; }

    public required int IPv4PrefixLength { get; init; }

    /// <summary>The default gateway. If the pod's IPv4 prefix does not cover it (a /32 pod, 169.254.1.1), the
    /// route is added "onlink".</summary>
    public required IPAddress GatewayV4 { get; init; }

    public IPAddress? IPv6 { get; init; }

    public int IPv6PrefixLength { get; init; } = 64;

    /// <summary>The IPv6 default gateway (needs <see cref="IPv6"/>); link-local (fe80::/10) or inside the prefix,
    /// else the route is added "onlink".</summary>
    public IPAddress? GatewayV6 { get; init; }

    /// <summary>Routes besides the default ones (CNI's IPAM may hand some): destination, prefix length, optional gateway.</summary>
    public IReadOnlyList<(IPAddress Destination, int PrefixLength, IPAddress? Gateway)> Routes { get; init; } = [];

    /// <summary>TAP options (virtio-net header, offloads).</summary>
    public TapOptions Tap { get; init; } = TapOptions.Default;

    /// <summary>
    /// An earlier daemon made this pod's TAP (its ownership record says so): attach to it if it is still there, and
    /// put back whatever of its MAC, MTU, addresses and routes differs, instead of failing on the name.
    /// </summary>
    public bool Adopt { get; init; }

    /// <summary>An earlier daemon created the namespace (its record says so): it is ours to delete, as if created now.</summary>
    public bool NamespaceOwned { get; init; }

    /// <summary>Throws <see cref="ArgumentException"/> for anything the kernel would refuse later.</summary>
    public void Validate()
    {
        Io.InterfaceName.Validate(InterfaceName, nameof(InterfaceName));
        _ = NetworkNamespace.PathOf(Namespace);
        ArgumentNullException.ThrowIfNull(Mac);
        byte[] mac = Mac.GetAddressBytes();
        if (mac.Length != 6)
        {
            throw new ArgumentException($"MAC {Mac} must be 6 bytes", nameof(Mac));
        }

        if ((mac[0] & 1) != 0 || mac.All(b => b == 0))
        {
            throw new ArgumentException($"MAC {Mac} must be a unicast, non-zero address", nameof(Mac));
        }

        if (Mtu is < 68 or > 65535)
        {
            throw new ArgumentOutOfRangeException(nameof(Mtu), Mtu, "MTU must be 68..65535");
        }

        RequireFamily(IPv4, AddressFamily.InterNetwork, nameof(IPv4));
        RequireFamily(GatewayV4, AddressFamily.InterNetwork, nameof(GatewayV4));
        if (IPv4PrefixLength is < 0 or > 32)
        {
            throw new ArgumentOutOfRangeException(nameof(IPv4PrefixLength), IPv4PrefixLength, "IPv4 prefix length must be 0..32");
        }

        if (IPv6 is not null)
        {
            RequireFamily(IPv6, AddressFamily.InterNetworkV6, nameof(IPv6));
            if (IPv6PrefixLength is < 0 or > 128)
            {
                throw new ArgumentOutOfRangeException(nameof(IPv6PrefixLength), IPv6PrefixLength, "IPv6 prefix length must be 0..128");
            }
        }

        if (GatewayV6 is not null)
        {
            if (IPv6 is null)
            {
                throw new ArgumentException("GatewayV6 needs an IPv6 address for the pod", nameof(GatewayV6));
            }

            RequireFamily(GatewayV6, AddressFamily.InterNetworkV6, nameof(GatewayV6));
        }
    }

    private static void RequireFamily(IPAddress? address, AddressFamily family, string name)
    {
        ArgumentNullException.ThrowIfNull(address, name);
        if (address.AddressFamily != family)
        {
            throw new ArgumentException($"{name} {address} must be {(family == AddressFamily.InterNetwork ? "IPv4" : "IPv6")}", name);
        }
    }
}
