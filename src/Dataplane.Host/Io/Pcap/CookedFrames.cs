using System.Buffers.Binary;
using Dataplane.Packets;

namespace Dataplane.Io.Pcap;

// Linux "cooked" capture headers (tcpdump.org/linktypes/LINKTYPE_LINUX_SLL.html, ..._SLL2.html), written by
// `tcpdump -i any` instead of the link-layer header, which differs between the interfaces captured.
//
// SLL, 16 bytes:                                     SLL2, 20 bytes:
// +---------------------------+                       +---------------------------+
// |    Packet type (16)       |  0                    |    Protocol type (16)     |  0
// |    ARPHRD type (16)       |  2                    |    Reserved (16)          |  2
// | Link-layer addr len (16)  |  4                    |    Interface index (32)   |  4
// | Link-layer address (64)   |  6                    |    ARPHRD type (16)       |  8
// |    Protocol type (16)     | 14                    | Packet type (8) | len (8) | 10
// +---------------------------+                       | Link-layer address (64)   | 12
//                                                     +---------------------------+
// Packet type: 0 to us, 1 broadcast, 2 multicast, 3 to someone else, 4 sent by us. Protocol type: the EtherType
// (values below 0x0600 mean 802.2 LLC or similar, which replay does not turn into Ethernet).

/// <summary>
/// Turns Linux cooked (SLL, SLL2) records into the Ethernet frames replay feeds the pipeline. The cooked header
/// keeps the sender's link-layer address but not the destination, so the Ethernet header is synthesized:
/// <list type="bullet">
/// <item>source MAC: the cooked header's address when it is 6 bytes (an Ethernet sender), else the port's own
/// MAC (for a pod port, the pod's MAC, which the source guard expects);</item>
/// <item>destination MAC: broadcast for broadcast packets, the IPv4 (01:00:5e) or IPv6 (33:33) multicast MAC
/// of the destination address for multicast ones, else <c>unicastDestination</c>: the MAC the dataplane owns
/// on that port (the node's gateway MAC for a pod, the uplink MAC for the uplink), so unicast IP packets are
/// routed, as they would be when a pod sends them to its default gateway;</item>
/// <item>EtherType: the cooked header's protocol type.</item>
/// </list>
/// </summary>
public static class CookedFrames
{
    public const int SllHeaderLength = 16;
    public const int Sll2HeaderLength = 20;
    public const int Sll2InterfaceIndexOffset = 4;

    private const ushort PacketBroadcast = 1;
    private const ushort PacketMulticast = 2;
    private const ushort MinEtherType = 0x0600;

    /// <summary>
    /// Writes the Ethernet frame for <paramref name="record"/> (of link type <paramref name="linkType"/>) into
    /// <paramref name="ethernet"/>. False when the record is too short or does not carry an EtherType.
    /// </summary>
    public static bool TryToEthernet(uint linkType, ReadOnlySpan<byte> record, MacAddress fallbackSource, MacAddress unicastDestination, Span<byte> ethernet, out int length)
    {
        length = 0;
        ushort packetType, addressLength, protocol;
        ReadOnlySpan<byte> address, payload;
        switch (linkType)
        {
            case LinkTypes.LINKTYPE_LINUX_SLL when record.Length >= SllHeaderLength:
                packetType = BinaryPrimitives.ReadUInt16BigEndian(record);
                addressLength = BinaryPrimitives.ReadUInt16BigEndian(record[4..]);
                address = record.Slice(6, 8);
                protocol = BinaryPrimitives.ReadUInt16BigEndian(record[14..]);
                payload = record[SllHeaderLength..];
                break;
            case LinkTypes.LINKTYPE_LINUX_SLL2 when record.Length >= Sll2HeaderLength:
                protocol = BinaryPrimitives.ReadUInt16BigEndian(record);
                packetType = record[10];
                addressLength = record[11];
                address = record.Slice(12, 8);
                payload = record[Sll2HeaderLength..];
                break;
            default:
                return false;
        }

        if (protocol < MinEtherType || ethernet.Length < EthernetHeader.Size + payload.Length)
        {
            return false;
        }

        MacAddress source = addressLength == MacAddress.Size ? MacAddress.Read(address) : fallbackSource;
        MacAddress destination = packetType switch
        {
            PacketBroadcast => MacAddress.Broadcast,
            PacketMulticast => MulticastMac(protocol, payload) ?? MacAddress.Broadcast,
            _ => unicastDestination,
        };
        destination.Write(ethernet);
        source.Write(ethernet[MacAddress.Size..]);
        BinaryPrimitives.WriteUInt16BigEndian(ethernet[(2 * MacAddress.Size)..], protocol);
        payload.CopyTo(ethernet[EthernetHeader.Size..]);
        length = EthernetHeader.Size + payload.Length;
        return true;
    }

    /// <summary>RFC 1112 §6.4 (01:00:5e + low 23 bits) and RFC 2464 §7 (33:33 + low 32 bits) multicast MACs.</summary>
    private static MacAddress? MulticastMac(ushort protocol, ReadOnlySpan<byte> payload)
    {
        if (protocol == 0x0800 && payload.Length >= 20)
        {
            uint destination = BinaryPrimitives.ReadUInt32BigEndian(payload[16..]);
            return new MacAddress(0x0100_5E00_0000UL | (destination & 0x7F_FFFF));
        }

        if (protocol == 0x86DD && payload.Length >= 40)
        {
            uint low = BinaryPrimitives.ReadUInt32BigEndian(payload[36..]);
            return new MacAddress(0x3333_0000_0000UL | low);
        }

        return null;
    }
}
