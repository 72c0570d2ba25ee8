using System.Globalization;
using Dataplane.Packets;

namespace Dataplane.Kubernetes;

/// <summary>How the translators read the addresses and CIDRs written in Kubernetes objects.</summary>
internal static class ApiAddresses
{
    public static string Family(bool v4) => v4 ? "IPv4" : "IPv6";

    /// <summary>An address a packet can be sent to: not 0.0.0.0 / ::, not multicast, not 255.255.255.255.</summary>
    public static bool IsUnicast(IpAddress ip)
        => ip.IsV4 ? !ip.V4.IsZero && !ip.V4.IsMulticast && !ip.V4.IsLimitedBroadcast : !ip.V6.IsZero && !ip.V6.IsMulticast;

    public static bool TryParseUnicast(string? text, out IpAddress ip) => IpAddress.TryParse(text, out ip) && IsUnicast(ip);

    /// <summary>
    /// A CIDR the way the API server validates <c>loadBalancerSourceRanges</c> and kube-proxy reads them
    /// (netutils.ParseCIDRSloppy): host bits are allowed and cleared, so <c>203.0.113.7/24</c> is
    /// <c>203.0.113.0/24</c>. The config file refuses that as a likely typo; an object the API server accepted is not
    /// ours to refuse.
    /// </summary>
    public static bool TryParseCidr(string text, out IpPrefix prefix)
    {
        prefix = default;
        int slash = text.IndexOf('/', StringComparison.Ordinal);
        if (slash <= 0 || !IpAddress.TryParse(text[..slash], out IpAddress address)
            || !int.TryParse(text.AsSpan(slash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out int length)
            || length > (address.IsV4 ? 32 : 128))
        {
            return false;
        }

        prefix = IpPrefix.Containing(address, length);
        return true;
    }


    /// <summary>A few of <paramref name="items"/> for a message, quoted, with how many more there are.</summary>
    public static string Examples(IReadOnlyList<string> items)
    {
        const int Shown = 3;
        string shown = string.Join(", ", items.Take(Shown).Select(static i => $"'{i}'"));
        return items.Count > Shown ? $"{shown} and {items.Count - Shown} more" : shown;
    }
}
