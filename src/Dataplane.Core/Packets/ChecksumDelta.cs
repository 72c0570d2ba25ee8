using System.Runtime.CompilerServices;

namespace Dataplane.Packets;

/// <summary>
/// Incremental checksum update (RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m')). Collect every field a rewrite
/// changes, then apply the delta once to each checksum that covers them: a DNAT changes the IP header
/// checksum and the TCP/UDP checksum (through the pseudo-header) with the same delta.
/// <para>
/// Using eqn. 3 rather than eqn. 2 matters: eqn. 2 can yield 0x0000 (-0) where a full recomputation gives
/// 0xFFFF, which a receiver that checks both ways rejects (RFC 1624 §3).
/// </para>
/// </summary>
public struct ChecksumDelta
{
    private ulong _sum;

    public readonly bool IsEmpty => _sum == 0;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Add16(ushort oldValue, ushort newValue) => _sum += (ushort)~oldValue + (ulong)newValue;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Add32(uint oldValue, uint newValue)
    {
        Add16((ushort)(oldValue >> 16), (ushort)(newValue >> 16));
        Add16((ushort)oldValue, (ushort)newValue);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Add(Ip4Address oldValue, Ip4Address newValue) => Add32(oldValue.Value, newValue.Value);

    public void Add(Ip6Address oldValue, Ip6Address newValue)
    {
        Add64(oldValue.Hi, newValue.Hi);
        Add64(oldValue.Lo, newValue.Lo);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Add64(ulong oldValue, ulong newValue)
    {
        Add32((uint)(oldValue >> 32), (uint)(newValue >> 32));
        Add32((uint)oldValue, (uint)newValue);
    }

    /// <summary>Combines another delta (e.g. address and port changes that only the L4 checksum sees).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Add(in ChecksumDelta other) => _sum += other._sum;

    /// <summary>The checksum field after the changes, given its value before.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly ushort Apply(ushort checksum) => (ushort)~InternetChecksum.Fold((ushort)~checksum + _sum);

    /// <summary>
    /// For a UDP checksum: 0 means "no checksum" over IPv4 (RFC 768) and stays 0; a computed 0 is sent as 0xFFFF.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly ushort ApplyUdp(ushort checksum)
    {
        if (checksum == 0)
        {
            return 0;
        }

        ushort updated = Apply(checksum);
        return updated == 0 ? (ushort)0xFFFF : updated;
    }
}
