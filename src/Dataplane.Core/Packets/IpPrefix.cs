namespace Dataplane.Packets;

/// <summary>An address with a prefix length (<c>10.244.1.0/24</c>, <c>fd00:10:244:1::/64</c>), host bits zero.</summary>
public readonly record struct IpPrefix(IpAddress Address, int Length)
{
    public bool IsV4 => Address.IsV4;

    /// <summary>Bits of the prefix within its own family (32 for IPv4, 128 for IPv6).</summary>
    public int MaxLength => IsV4 ? 32 : 128;

    public bool Contains(IpAddress address)
    {
        if (address.IsV4 != IsV4)
        {
            return false;
        }

        if (IsV4)
        {
            uint mask = Length == 0 ? 0 : uint.MaxValue << (32 - Length);
            return (address.V4.Value & mask) == Address.V4.Value;
        }

        UInt128 mask6 = Length == 0 ? UInt128.Zero : UInt128.MaxValue << (128 - Length);
        return (address.V6.ToUInt128() & mask6) == Address.V6.ToUInt128();
    }

    /// <summary>
    /// The first address after the network address (<c>10.244.1.1</c>, <c>fd00:10:244:1::1</c>): by convention the pods'
    /// gateway, which the dataplane answers; what node.gatewayIpV6 defaults to and what `install-cni` hands host-local.
    /// </summary>
    public IpAddress FirstHost
    {
        get
        {
            if (IsV4)
            {
                return new Ip4Address(Address.V4.Value + 1);
            }

            UInt128 bits = Address.V6.ToUInt128() + 1;
            return new Ip6Address((ulong)(bits >> 64), (ulong)bits);
        }
    }

    /// <summary>Whether any of <paramref name="prefixes"/> contains <paramref name="address"/>: a scan, for the few prefixes a policy has.</summary>
    public static bool AnyContains(ReadOnlySpan<IpPrefix> prefixes, IpAddress address)
    {
        foreach (IpPrefix prefix in prefixes)
        {
            if (prefix.Contains(address))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Parses <c>a.b.c.d/n</c> or <c>x::/n</c>. Host bits must be zero: <c>10.244.1.5/24</c> is refused
    /// with a message rather than silently masked, since it is almost always a typo for the address or the length.
    /// </summary>
    /// <summary>
    /// The smallest list covering exactly the same addresses: prefixes inside others dropped, sibling halves merged
    /// into their parent, repeatedly. Sorted by family, then address.
    /// </summary>
    public static IpPrefix[] Coalesce(IEnumerable<IpPrefix> prefixes)
    {
        // (family, address bits within the family, length), host bits cleared.
        var list = new List<(bool V4, UInt128 Bits, int Length)>();
        foreach (IpPrefix p in prefixes)
        {
            list.Add((p.IsV4, Mask(p.IsV4 ? p.Address.V4.Value : p.Address.V6.ToUInt128(), p.Length, p.MaxLength), p.Length));
        }

        bool merged = true;
        while (merged)
        {
            merged = false;
            list.Sort(static (a, b) => a.V4 != b.V4 ? (a.V4 ? -1 : 1) : a.Bits != b.Bits ? a.Bits.CompareTo(b.Bits) : a.Length.CompareTo(b.Length));
            var next = new List<(bool V4, UInt128 Bits, int Length)>(list.Count);
            foreach ((bool v4, UInt128 bits, int length) in list)
            {
                int width = v4 ? 32 : 128;
                if (next.Count > 0 && next[^1] is var last && last.V4 == v4)
                {
                    if (last.Length <= length && Mask(bits, last.Length, width) == last.Bits)
                    {
                        continue; // inside the previous one
                    }

                    if (last.Length == length && length > 0 && Mask(last.Bits, length - 1, width) == Mask(bits, length - 1, width))
                    {
                        next[^1] = (v4, Mask(bits, length - 1, width), length - 1); // the two halves of one parent
                        merged = true;
                        continue;
                    }
                }

                next.Add((v4, bits, length));
            }

            list = next;
        }

        var result = new IpPrefix[list.Count];
        for (int i = 0; i < result.Length; i++)
        {
            (bool v4, UInt128 bits, int length) = list[i];
            result[i] = new IpPrefix(v4 ? new Ip4Address((uint)bits) : new Ip6Address((ulong)(bits >> 64), (ulong)bits), length);
        }

        return result;
    }

    private static UInt128 Mask(UInt128 bits, int length, int width)
        => length == 0 ? UInt128.Zero : bits & ((width == 32 ? (UInt128)uint.MaxValue : UInt128.MaxValue) << (width - length)) & (width == 32 ? (UInt128)uint.MaxValue : UInt128.MaxValue);

    public static bool TryParse(string? text, out IpPrefix prefix, out string? error)
    {
        prefix = default;
        error = null;
        int slash = text?.IndexOf('/', StringComparison.Ordinal) ?? -1;
        if (text is null || slash <= 0)
        {
            error = $"'{text}' is not a CIDR (expected address/length, e.g. 10.244.1.0/24)";
            return false;
        }

        if (!IpAddress.TryParse(text[..slash], out IpAddress address))
        {
            error = $"'{text}': '{text[..slash]}' is not an IP address";
            return false;
        }

        int max = address.IsV4 ? 32 : 128;
        if (!int.TryParse(text.AsSpan(slash + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int length) || length > max)
        {
            error = $"'{text}': prefix length must be 0..{max}";
            return false;
        }

        var candidate = new IpPrefix(address, length);
        IpAddress network = candidate.Network(address);
        if (network != address)
        {
            error = $"'{text}' has host bits set (did you mean {network}/{length}?)";
            return false;
        }

        prefix = candidate;
        return true;
    }

    public static IpPrefix Parse(string text)
        => TryParse(text, out IpPrefix p, out string? error) ? p : throw new FormatException(error);

    private IpAddress Network(IpAddress address) => Containing(address, Length).Address;

    /// <summary>Whether the two prefixes share an address: one holds the other (prefixes never partly overlap).</summary>
    public static bool Overlap(IpPrefix a, IpPrefix b) => a.IsV4 == b.IsV4 && (a.Contains(b.Address) || b.Contains(a.Address));

    /// <summary>The prefix of <paramref name="length"/> bits holding <paramref name="address"/>, host bits cleared (<c>192.168.77.10/24</c> gives <c>192.168.77.0/24</c>).</summary>
    public static IpPrefix Containing(IpAddress address, int length)
    {
        if (address.IsV4)
        {
            uint mask = length == 0 ? 0 : uint.MaxValue << (32 - length);
            return new IpPrefix(new Ip4Address(address.V4.Value & mask), length);
        }

        UInt128 mask6 = length == 0 ? UInt128.Zero : UInt128.MaxValue << (128 - length);
        UInt128 bits = address.V6.ToUInt128() & mask6;
        return new IpPrefix(new Ip6Address((ulong)(bits >> 64), (ulong)bits), length);
    }

    public override string ToString() => $"{Address}/{Length}";
}
