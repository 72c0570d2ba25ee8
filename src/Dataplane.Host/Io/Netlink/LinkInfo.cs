using System.Net.NetworkInformation;

namespace Dataplane.Io.Netlink;

/// <summary>One network interface as RTM_GETLINK reports it.</summary>
/// <param name="Index">ifindex, unique within its namespace.</param>
/// <param name="Name">IFLA_IFNAME.</param>
/// <param name="Kind">IFLA_INFO_KIND ("veth", "bridge", "tun"), or null for devices without one (lo, physical NICs).</param>
/// <param name="Address">IFLA_ADDRESS (the MAC for Ethernet devices), or null.</param>
/// <param name="Mtu">IFLA_MTU.</param>
/// <param name="Flags">ifi_flags (IFF_UP = 0x1, IFF_LOWER_UP = 0x10000, ...).</param>
/// <param name="MasterIndex">IFLA_MASTER (the bridge it is enslaved to), 0 when none.</param>
public sealed record LinkInfo(int Index, string Name, string? Kind, PhysicalAddress? Address, int Mtu, uint Flags, int MasterIndex)
{
    /// <summary>IFF_UP: administratively up.</summary>
    public bool IsUp => (Flags & Interop.Libc.IFF_UP) != 0;

    /// <summary>IFF_LOWER_UP: the driver reports carrier.</summary>
    public bool IsLowerUp => (Flags & Interop.Libc.IFF_LOWER_UP) != 0;
}
