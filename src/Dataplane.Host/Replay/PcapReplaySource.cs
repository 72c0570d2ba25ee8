using System.Buffers.Binary;
using Dataplane.Io.Pcap;
using Dataplane.Packets;

namespace Dataplane.Replay;

/// <summary>
/// One opened capture file: its default port (`--in PORT=FILE`, or none), ports by interface name (`--map eth0=web-1`)
/// and by the interface index Linux SLL2 records carry (`--map 7=web-1`: `tcpdump -i any` names no interface).
/// </summary>
public sealed record ReplayFile(IPcapSource Source, ushort? DefaultPort, IReadOnlyDictionary<string, ushort> PortByInterface,
    IReadOnlyDictionary<int, ushort>? PortByIfIndex = null);

/// <summary>What each port's Ethernet side looks like, for turning cooked (SLL/SLL2) records into Ethernet frames.</summary>
/// <param name="FallbackSource">Source MAC when the cooked record has no 6-byte address.</param>
/// <param name="UnicastDestination">The MAC the dataplane owns on the port: unicast frames are addressed to it.</param>
public readonly record struct PortMacs(MacAddress FallbackSource, MacAddress UnicastDestination);

/// <summary>
/// Capture files merged by timestamp, each record bound to a port: the port of its interface's name when
/// `--map` names it, else its file's port. Linux cooked records become Ethernet frames (<see cref="CookedFrames"/>).
/// Records that have no port, or cannot be turned into Ethernet, are skipped and counted.
/// </summary>
public sealed class PcapReplaySource : IReplaySource, IDisposable
{
    private const int Unresolved = -2;
    private const int NoPort = -1;

    private readonly PcapMerger _merger;
    private readonly ReplayFile[] _files;
    private readonly PortMacs[] _macs;
    // Port per (file, interface index), resolved on first use: pcapng may describe interfaces between records.
    private readonly List<int>[] _ports;
    private readonly byte[] _ethernet = new byte[PcapFormat.MaxRecordLength + EthernetHeader.Size];

    public PcapReplaySource(IReadOnlyList<ReplayFile> files, PortMacs[] macs)
    {
        _files = [.. files];
        _macs = macs;
        _ports = [.. files.Select(static _ => new List<int>())];
        _merger = new PcapMerger(files.Select((f, i) => (i.ToString(System.Globalization.CultureInfo.InvariantCulture), f.Source)));
    }

    /// <summary>Convenience for Ethernet files bound to one port each (tests, the demo).</summary>
    public PcapReplaySource(IReadOnlyList<(ushort Port, IPcapSource Source)> inputs)
        : this([.. inputs.Select(static i => new ReplayFile(i.Source, i.Port, new Dictionary<string, ushort>()))], [])
    {
    }

    /// <summary>Set when reading stopped because a file is corrupt (names the file, record and offset).</summary>
    public PcapFileError? Failure => _merger.Failure;

    /// <summary>Records of an interface that neither `--map` nor the file's `--in PORT=` gives a port.</summary>
    public long SkippedUnmapped { get; private set; }

    /// <summary>Cooked records without an EtherType (802.2 LLC and the like) or too short for their header.</summary>
    public long SkippedNotEthernet { get; private set; }

    public bool TryRead(out ushort port, out long timestampNanoseconds, out ReadOnlySpan<byte> frame)
    {
        while (_merger.TryReadNext(out int input, out PcapRecord record))
        {
            uint linkType = _files[input].Source.Interfaces[record.Interface].LinkType;
            int resolved = linkType == LinkTypes.LINKTYPE_LINUX_SLL2 && _files[input].PortByIfIndex is { Count: > 0 } byIndex
                && record.Frame.Length >= CookedFrames.Sll2HeaderLength
                && byIndex.TryGetValue(BinaryPrimitives.ReadInt32BigEndian(record.Frame.Span[CookedFrames.Sll2InterfaceIndexOffset..]), out ushort indexed)
                ? indexed
                : PortOf(input, record.Interface);
            if (resolved < 0)
            {
                SkippedUnmapped++;
                continue;
            }

            port = (ushort)resolved;
            timestampNanoseconds = record.TimestampNanoseconds;
            if (linkType == LinkTypes.LINKTYPE_ETHERNET)
            {
                frame = record.Frame.Span;
                return true;
            }

            PortMacs macs = port < _macs.Length ? _macs[port] : default;
            if (!CookedFrames.TryToEthernet(linkType, record.Frame.Span, macs.FallbackSource, macs.UnicastDestination, _ethernet, out int length))
            {
                SkippedNotEthernet++;
                continue;
            }

            frame = _ethernet.AsSpan(0, length);
            return true;
        }

        port = 0;
        timestampNanoseconds = 0;
        frame = default;
        return false;
    }

    private int PortOf(int input, int interfaceIndex)
    {
        List<int> ports = _ports[input];
        while (ports.Count <= interfaceIndex)
        {
            ports.Add(Unresolved);
        }

        if (ports[interfaceIndex] == Unresolved)
        {
            ReplayFile file = _files[input];
            string? name = file.Source.Interfaces[interfaceIndex].Name;
            ports[interfaceIndex] = name is not null && file.PortByInterface.TryGetValue(name, out ushort mapped) ? mapped
                : file.DefaultPort is { } fallback ? fallback
                : NoPort;
        }

        return ports[interfaceIndex];
    }

    public void Dispose() => _merger.Dispose();
}
