using System.Buffers.Binary;

namespace Dataplane.Io.RawSocket;

/// <summary>
/// An AF_PACKET/SOCK_RAW socket bound to one interface for all protocols (ETH_P_ALL): reads and writes whole
/// Ethernet frames, non-blocking. It belongs to the network namespace of the thread that opened it (open it
/// inside <see cref="Netns.NetworkNamespace.Run{T}"/> for an interface in another namespace).
/// </summary>
public sealed class PacketSocket : IDisposable
{
    private long _outgoingSkipped;
    private long _truncated;

    private PacketSocket(string interfaceName, int interfaceIndex, SafeFileDescriptor fd)
    {
        InterfaceName = interfaceName;
        InterfaceIndex = interfaceIndex;
        Fd = fd;
    }

    public string InterfaceName { get; }

    public int InterfaceIndex { get; }

    public SafeFileDescriptor Fd { get; }

    /// <summary>Frames skipped by <see cref="Read"/> because they were this host's own transmissions (PACKET_OUTGOING).</summary>
    public long OutgoingSkipped => _outgoingSkipped;

    /// <summary>Frames larger than the buffer given to <see cref="Read"/> (dropped, reported as -EMSGSIZE).</summary>
    public long Truncated => _truncated;

    /// <summary>
    /// Opens the socket on <paramref name="interfaceName"/> in the calling thread's namespace. Throws
    /// <see cref="ErrnoException"/> naming the interface (ENODEV if it does not exist, EPERM without CAP_NET_RAW).
    /// </summary>
    public static unsafe PacketSocket Open(string interfaceName, PacketSocketOptions? options = null)
    {
        options ??= PacketSocketOptions.Default;
        Io.InterfaceName.Validate(interfaceName, nameof(interfaceName));
        int index = (int)Interop.Libc.if_nametoindex(interfaceName);
        if (index == 0)
        {
            int errno = Interop.Libc.GetLastErrno();
            throw ErrnoException.FromErrno($"looking up interface '{interfaceName}' for a packet socket", errno == 0 ? Errno.ENODEV : errno);
        }

        // Protocol 0 receives nothing until bind() sets ETH_P_ALL on this one interface; created with
        // ETH_P_ALL directly it would queue frames from every interface in the window before bind().
        int raw = Interop.Libc.socket(Interop.Libc.AF_PACKET, Interop.Libc.SOCK_RAW | Interop.Libc.SOCK_NONBLOCK | Interop.Libc.SOCK_CLOEXEC, 0);
        if (raw < 0)
        {
            throw ErrnoException.FromLastError($"socket(AF_PACKET, SOCK_RAW) for interface '{interfaceName}'");
        }

        var fd = new SafeFileDescriptor(raw, ownsHandle: true);

        try
        {
            if (options.ReceiveBufferSize > 0)
            {
                SetInt(fd, Interop.Libc.SOL_SOCKET, Interop.Libc.SO_RCVBUF, options.ReceiveBufferSize, $"SO_RCVBUF on packet socket for '{interfaceName}'");
            }

            if (options.SendBufferSize > 0)
            {
                SetInt(fd, Interop.Libc.SOL_SOCKET, Interop.Libc.SO_SNDBUF, options.SendBufferSize, $"SO_SNDBUF on packet socket for '{interfaceName}'");
            }

            Interop.Libc.sockaddr_ll address = default;
            address.sll_family = Interop.Libc.AF_PACKET;
            address.sll_protocol = BinaryPrimitives.ReverseEndianness(Interop.Libc.ETH_P_ALL); // htons
            address.sll_ifindex = index;
            if (Interop.Libc.bind(fd, &address, (uint)sizeof(Interop.Libc.sockaddr_ll)) < 0)
            {
                throw ErrnoException.FromLastError($"bind of packet socket to interface '{interfaceName}' (index {index})");
            }

            if (options.Promiscuous)
            {
                Interop.Libc.packet_mreq request = default;
                request.mr_ifindex = index;
                request.mr_type = Interop.Libc.PACKET_MR_PROMISC;
                if (Interop.Libc.setsockopt(fd, Interop.Libc.SOL_PACKET, Interop.Libc.PACKET_ADD_MEMBERSHIP, &request, (uint)sizeof(Interop.Libc.packet_mreq)) < 0)
                {
                    throw ErrnoException.FromLastError($"PACKET_ADD_MEMBERSHIP(PACKET_MR_PROMISC) on interface '{interfaceName}'");
                }
            }

            if (options.VnetHeader)
            {
                SetInt(fd, Interop.Libc.SOL_PACKET, Interop.Libc.PACKET_VNET_HDR, 1, $"PACKET_VNET_HDR on interface '{interfaceName}'");
            }

            if (options.QdiscBypass)
            {
                SetInt(fd, Interop.Libc.SOL_PACKET, Interop.Libc.PACKET_QDISC_BYPASS, 1, $"PACKET_QDISC_BYPASS on interface '{interfaceName}'");
            }

            return new PacketSocket(interfaceName, index, fd);
        }
        catch
        {
            fd.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Reads the next frame received on the interface into <paramref name="frame"/>. Returns its length or a
    /// negative errno: -EAGAIN when none is queued (normal), -EMSGSIZE if it did not fit (it is consumed and
    /// counted in <see cref="Truncated"/>). Our own transmissions, which a packet socket also sees
    /// (sll_pkttype PACKET_OUTGOING), are skipped and counted in <see cref="OutgoingSkipped"/>.
    /// </summary>
    public unsafe int Read(Span<byte> frame)
    {
        fixed (byte* p = frame)
        {
            while (true)
            {
                Interop.Libc.sockaddr_ll from;
                uint fromLength = (uint)sizeof(Interop.Libc.sockaddr_ll);
                // MSG_TRUNC: the return value is the frame's real length, so truncation is visible.
                nint n = Interop.Libc.recvfrom(Fd, p, (nuint)frame.Length, Interop.Libc.MSG_TRUNC, &from, &fromLength);
                if (n < 0)
                {
                    int errno = Interop.Libc.GetLastErrno();
                    if (errno == Errno.EINTR)
                    {
                        continue;
                    }

                    return -errno;
                }

                if (from.sll_pkttype == Interop.Libc.PACKET_OUTGOING)
                {
                    _outgoingSkipped++;
                    continue;
                }

                if (n > frame.Length)
                {
                    _truncated++;
                    return -Errno.EMSGSIZE;
                }

                return (int)n;
            }
        }
    }

    /// <summary>
    /// Sends one whole Ethernet frame (destination MAC first) out of the interface. Returns the byte count or
    /// a negative errno (-EAGAIN/-ENOBUFS when the queue is full, -EMSGSIZE if larger than MTU + header,
    /// -ENETDOWN if the interface is down).
    /// </summary>
    public unsafe int Write(ReadOnlySpan<byte> frame)
    {
        fixed (byte* p = frame)
        {
            nint n = Interop.Libc.sendto(Fd, p, (nuint)frame.Length, 0, null, 0);
            return n >= 0 ? (int)n : -Interop.Libc.GetLastErrno();
        }
    }

    public void Dispose() => Fd.Dispose();

    public override string ToString() => $"packet socket on {InterfaceName} (index {InterfaceIndex}, {Fd})";

    private static unsafe void SetInt(SafeFileDescriptor fd, int level, int option, int value, string what)
    {
        if (Interop.Libc.setsockopt(fd, level, option, &value, sizeof(int)) < 0)
        {
            throw ErrnoException.FromLastError(what);
        }
    }
}
