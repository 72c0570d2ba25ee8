namespace Dataplane.Io.Pcap;

/// <summary>
/// The link-layer header types (tcpdump.org/linktypes.html) replay reads: Ethernet as it is, and Linux "cooked"
/// captures (what `tcpdump -i any` writes), which <see cref="CookedFrames"/> turns into Ethernet frames.
/// </summary>
public static class LinkTypes
{
    public const uint LINKTYPE_ETHERNET = 1;
    public const uint LINKTYPE_LINUX_SLL = 113;
    public const uint LINKTYPE_LINUX_SLL2 = 276;

    public static bool IsSupported(uint linkType) => linkType is LINKTYPE_ETHERNET or LINKTYPE_LINUX_SLL or LINKTYPE_LINUX_SLL2;

    /// <summary>The error for a link type replay cannot read, naming it.</summary>
    public static string Unsupported(uint linkType) => $"linktype {linkType} ({Name(linkType)}) is not supported; replay reads Ethernet, Linux SLL and SLL2";

    /// <summary>A readable name for the common link types (the numbers of tcpdump.org/linktypes.html).</summary>
    public static string Name(uint linkType) => linkType switch
    {
        0 => "BSD loopback",
        1 => "Ethernet",
        6 => "IEEE 802.5 Token Ring",
        9 => "PPP",
        101 => "raw IP",
        105 => "IEEE 802.11",
        108 => "OpenBSD loopback",
        113 => "Linux SLL",
        119 => "Prism 802.11",
        127 => "IEEE 802.11 radiotap",
        147 or >= 148 and <= 162 => "user-defined",
        192 => "PPI",
        195 => "IEEE 802.15.4",
        201 => "Bluetooth HCI H4",
        220 => "USB Linux mmapped",
        228 => "raw IPv4",
        229 => "raw IPv6",
        249 => "USBPcap",
        253 => "Linux netlink",
        276 => "Linux SLL2",
        _ => "unknown",
    };
}
