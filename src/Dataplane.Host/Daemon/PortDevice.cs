using Dataplane.Io;
using Dataplane.Io.RawSocket;
using Dataplane.Io.Tap;

namespace Dataplane.Daemon;

/// <summary>
/// The kernel side of a port: a pod's TAP or the uplink's packet socket. Both are non-blocking fds whose frames
/// are preceded by a virtio-net header when offloads are on (<see cref="HeaderSize"/>). Reads and writes
/// return a byte count or a negative errno; EAGAIN is normal.
/// </summary>
public abstract class PortDevice(ushort port, string name, int headerSize) : IDisposable
{
    /// <summary>The 10-byte struct virtio_net_hdr (both TAP and PACKET_VNET_HDR use it); 0 without offloads.</summary>
    public const int VirtioHeaderSize = VirtioNetHeader.LegacySize;

    public ushort Port { get; } = port;

    public string Name { get; } = name;

    public int HeaderSize { get; } = headerSize;

    public abstract SafeFileDescriptor Fd { get; }

    public abstract int Read(Span<byte> buffer);

    public abstract int Write(ReadOnlySpan<byte> buffer);

    public abstract void Dispose();
}

/// <summary>A pod's TAP, read and written in the node's namespace while its netdev lives in the pod's.</summary>
public sealed class TapPortDevice(ushort port, string name, TapDevice tap)
    : PortDevice(port, name, tap.VnetHeaderSize)
{
    public override SafeFileDescriptor Fd => tap.Fd;

    public override int Read(Span<byte> buffer) => tap.Read(buffer);

    public override int Write(ReadOnlySpan<byte> buffer) => tap.Write(buffer);

    /// <summary>The TAP belongs to its <see cref="Io.Netns.PodNetwork"/>, which closes it.</summary>
    public override void Dispose()
    {
    }
}

/// <summary>The uplink: an AF_PACKET socket on a host interface.</summary>
public sealed class UplinkPortDevice(ushort port, PacketSocket socket, bool vnetHeader)
    : PortDevice(port, "uplink", vnetHeader ? VirtioHeaderSize : 0)
{
    public override SafeFileDescriptor Fd => socket.Fd;

    public override int Read(Span<byte> buffer) => socket.Read(buffer);

    public override int Write(ReadOnlySpan<byte> buffer) => socket.Write(buffer);

    public override void Dispose() => socket.Dispose();
}
