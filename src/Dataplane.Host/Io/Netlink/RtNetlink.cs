using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Dataplane.Io.Netlink;

/// <summary>
/// A NETLINK_ROUTE client over one socket. The socket belongs to the network namespace of the thread that
/// opened it and stays there, whichever thread later uses it; open it inside a namespace with
/// <see cref="Netns.NetworkNamespace.OpenNetlink"/>. Every request asks for an ACK (NLM_F_ACK) and waits for
/// it, matching by sequence number, so each call either took effect or threw a <see cref="NetlinkException"/>
/// naming the namespace, the object and the errno. Not thread-safe: one caller at a time.
/// </summary>
public sealed class RtNetlink : IDisposable
{
    private const int ReceiveTimeoutSeconds = 5;
    private const int RequestBufferSize = 1024;
    // Dumps arrive in multi-part messages; the kernel sizes each part to what it expects the reader to
    // hold, and 32 KiB is the floor libnl and iproute2 use. 64 KiB leaves headroom.
    private const int ReceiveBufferSize = 64 * 1024;

    private readonly SafeFileDescriptor _fd;
    private readonly byte[] _request = new byte[RequestBufferSize];
    private readonly byte[] _response = new byte[ReceiveBufferSize];
    private uint _sequence;

    private RtNetlink(SafeFileDescriptor fd, string namespaceLabel)
    {
        _fd = fd;
        NamespaceLabel = namespaceLabel;
        _sequence = (uint)Environment.TickCount;
    }

    internal delegate void ReplyHandler(ushort type, ReadOnlySpan<byte> payload);

    /// <summary>How error messages name this socket's namespace ("host" unless given).</summary>
    public string NamespaceLabel { get; }

    /// <summary>The buffer requests are built in (for requests the tests make that the daemon does not).</summary>
    internal Span<byte> RequestBuffer => _request;

    /// <summary>
    /// Opens a NETLINK_ROUTE socket in the calling thread's network namespace.
    /// <paramref name="namespaceLabel"/> only names the namespace in error messages.
    /// </summary>
    public static unsafe RtNetlink Open(string? namespaceLabel = null)
    {
        string label = namespaceLabel ?? "host";
        int raw = Interop.Libc.socket(Interop.Libc.AF_NETLINK, Interop.Libc.SOCK_RAW | Interop.Libc.SOCK_CLOEXEC, Interop.Libc.NETLINK_ROUTE);
        if (raw < 0)
        {
            throw ErrnoException.FromLastError($"socket(AF_NETLINK, NETLINK_ROUTE) in namespace '{label}'");
        }

        var fd = new SafeFileDescriptor(raw, ownsHandle: true);

        try
        {
            Interop.Libc.sockaddr_nl local = default;
            local.nl_family = Interop.Libc.AF_NETLINK; // nl_pid 0: the kernel assigns our port id
            if (Interop.Libc.bind(fd, &local, (uint)sizeof(Interop.Libc.sockaddr_nl)) < 0)
            {
                throw ErrnoException.FromLastError($"bind of the rtnetlink socket in namespace '{label}'");
            }

            // Extended ACKs give the kernel's own explanation of a refusal; capped ACKs keep it from
            // echoing our whole request back. Both are best-effort (older kernels lack them).
            int one = 1;
            _ = Interop.Libc.setsockopt(fd, Interop.Libc.SOL_NETLINK, Interop.Libc.NETLINK_EXT_ACK, &one, sizeof(int));
            _ = Interop.Libc.setsockopt(fd, Interop.Libc.SOL_NETLINK, Interop.Libc.NETLINK_CAP_ACK, &one, sizeof(int));

            // A lost answer must not hang the daemon's setup forever.
            var timeout = new Interop.Libc.timeval { tv_sec = ReceiveTimeoutSeconds };
            if (Interop.Libc.setsockopt(fd, Interop.Libc.SOL_SOCKET, Interop.Libc.SO_RCVTIMEO, &timeout, (uint)sizeof(Interop.Libc.timeval)) < 0)
            {
                throw ErrnoException.FromLastError($"SO_RCVTIMEO on the rtnetlink socket in namespace '{label}'");
            }

            return new RtNetlink(fd, label);
        }
        catch
        {
            fd.Dispose();
            throw;
        }
    }

    // ---- links -------------------------------------------------------------------------------------

    /// <summary>The ifindex of <paramref name="name"/>; throws <see cref="NetlinkException"/> (ENODEV) if absent.</summary>
    public int GetLinkIndex(string name) => GetLink(name).Index;

    public LinkInfo GetLink(string name) =>
        TryGetLink(name) ?? throw new NetlinkException(
            $"{Prefix}: no link named '{name}': {Errno.Describe(Errno.ENODEV)}", Errno.ENODEV, null);

    /// <summary>The link called <paramref name="name"/>, or null if there is none in this namespace.</summary>
    public LinkInfo? TryGetLink(string name)
    {
        InterfaceName.Validate(name, nameof(name));
        var w = new NetlinkMessageWriter(_request, Interop.Libc.RTM_GETLINK, Interop.Libc.NLM_F_REQUEST | Interop.Libc.NLM_F_ACK);
        w.Put<Interop.Libc.ifinfomsg>();
        w.AttributeString(Interop.Libc.IFLA_IFNAME, name);
        LinkInfo? found = null;
        int errno = Transact(ref w, () => $"get link '{name}'", (type, payload) =>
        {
            if (type == Interop.Libc.RTM_NEWLINK)
            {
                found = ParseLink(payload);
            }
        }, toleratedErrno: Errno.ENODEV);
        return errno == 0 ? found : null;
    }

    /// <summary>The link with ifindex <paramref name="index"/>, or null.</summary>
    public LinkInfo? TryGetLink(int index)
    {
        var w = new NetlinkMessageWriter(_request, Interop.Libc.RTM_GETLINK, Interop.Libc.NLM_F_REQUEST | Interop.Libc.NLM_F_ACK);
        w.Put<Interop.Libc.ifinfomsg>().ifi_index = index;
        LinkInfo? found = null;
        int errno = Transact(ref w, () => $"get link index {index}", (type, payload) =>
        {
            if (type == Interop.Libc.RTM_NEWLINK)
            {
                found = ParseLink(payload);
            }
        }, toleratedErrno: Errno.ENODEV);
        return errno == 0 ? found : null;
    }

    /// <summary>
    /// Moves the link into the namespace whose fd is <paramref name="namespaceFd"/> (IFLA_NET_NS_FD), renaming
    /// it to <paramref name="newName"/> in the same request if given. Doing both at once means the new name
    /// (typically "eth0") never has to exist in this namespace, where it may be taken. The link is down
    /// afterwards and usually, but not always, keeps its ifindex: look it up again in the target namespace.
    /// </summary>
    public void SetLinkNamespace(int index, SafeHandle namespaceFd, string? newName = null, string? namespaceLabel = null)
    {
        ArgumentNullException.ThrowIfNull(namespaceFd);
        if (newName is not null)
        {
            InterfaceName.Validate(newName, nameof(newName));
        }

        bool added = false;
        try
        {
            namespaceFd.DangerousAddRef(ref added);
            var w = new NetlinkMessageWriter(_request, Interop.Libc.RTM_SETLINK, Interop.Libc.NLM_F_REQUEST | Interop.Libc.NLM_F_ACK);
            w.Put<Interop.Libc.ifinfomsg>().ifi_index = index;
            w.AttributeU32(Interop.Libc.IFLA_NET_NS_FD, (uint)namespaceFd.DangerousGetHandle().ToInt32());
            if (newName is not null)
            {
                w.AttributeString(Interop.Libc.IFLA_IFNAME, newName);
            }

            string target = namespaceLabel is null ? "another namespace" : $"namespace '{namespaceLabel}'";
            Transact(ref w, () => $"move link {DescribeLink(index)} into {target}" + (newName is null ? "" : $" as '{newName}'"));
        }
        finally
        {
            if (added)
            {
                namespaceFd.DangerousRelease();
            }
        }
    }

    /// <summary>Sets the link-layer address (IFLA_ADDRESS).</summary>
    public void SetLinkAddress(int index, PhysicalAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        byte[] bytes = address.GetAddressBytes();
        if (bytes.Length == 0)
        {
            throw new ArgumentException("empty link-layer address", nameof(address));
        }

        Func<string> what = () => $"set address {FormatMac(bytes)} on link {DescribeLink(index)}";
        var w = new NetlinkMessageWriter(_request, Interop.Libc.RTM_SETLINK, Interop.Libc.NLM_F_REQUEST | Interop.Libc.NLM_F_ACK);
        w.Put<Interop.Libc.ifinfomsg>().ifi_index = index;
        w.Attribute(Interop.Libc.IFLA_ADDRESS, bytes);
        Transact(ref w, what);
    }

    public void SetLinkMtu(int index, int mtu)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(mtu);
        Func<string> what = () => $"set MTU {mtu} on link {DescribeLink(index)}";
        var w = new NetlinkMessageWriter(_request, Interop.Libc.RTM_SETLINK, Interop.Libc.NLM_F_REQUEST | Interop.Libc.NLM_F_ACK);
        w.Put<Interop.Libc.ifinfomsg>().ifi_index = index;
        w.AttributeU32(Interop.Libc.IFLA_MTU, (uint)mtu);
        Transact(ref w, what);
    }

    public void SetLinkUp(int index) => SetLinkFlags(index, up: true);

    /// <summary>
    /// Creates a veth pair <paramref name="name"/> &lt;-&gt; <paramref name="peerName"/>. With
    /// <paramref name="peerNamespace"/> the peer is born in that namespace (so its name only has to be free
    /// there). Both ends start down.
    /// </summary>
    public void CreateVethPair(string name, string peerName, SafeHandle? peerNamespace = null)
    {
        InterfaceName.Validate(name, nameof(name));
        InterfaceName.Validate(peerName, nameof(peerName));
        bool added = false;
        try
        {
            peerNamespace?.DangerousAddRef(ref added);
            var w = new NetlinkMessageWriter(_request, Interop.Libc.RTM_NEWLINK,
                Interop.Libc.NLM_F_REQUEST | Interop.Libc.NLM_F_ACK | Interop.Libc.NLM_F_CREATE | Interop.Libc.NLM_F_EXCL);
            w.Put<Interop.Libc.ifinfomsg>();
            w.AttributeString(Interop.Libc.IFLA_IFNAME, name);
            int linkInfo = w.BeginNested(Interop.Libc.IFLA_LINKINFO);
            w.AttributeString(Interop.Libc.IFLA_INFO_KIND, "veth");
            int data = w.BeginNested(Interop.Libc.IFLA_INFO_DATA);
            int peer = w.BeginNested(Interop.Libc.VETH_INFO_PEER);
            w.Put<Interop.Libc.ifinfomsg>(); // VETH_INFO_PEER carries a full ifinfomsg, then the peer's IFLA_*
            w.AttributeString(Interop.Libc.IFLA_IFNAME, peerName);
            if (peerNamespace is not null)
            {
                w.AttributeU32(Interop.Libc.IFLA_NET_NS_FD, (uint)peerNamespace.DangerousGetHandle().ToInt32());
            }

            w.EndNested(peer);
            w.EndNested(data);
            w.EndNested(linkInfo);
            Transact(ref w, () => $"create veth pair '{name}' <-> '{peerName}'");
        }
        finally
        {
            if (added)
            {
                peerNamespace!.DangerousRelease();
            }
        }
    }

    // ---- addresses and routes -----------------------------------------------------------------------

    /// <summary>
    /// Adds <paramref name="address"/>/<paramref name="prefixLength"/> to a link (RTM_NEWADDR, like
    /// `ip addr add`), which also installs the connected prefix route. <paramref name="noDad"/> sets
    /// IFA_F_NODAD on an IPv6 address so it is usable at once instead of "tentative" for about a second.
    /// </summary>
    public void AddAddress(int index, IPAddress address, int prefixLength, bool noDad = false)
    {
        ArgumentNullException.ThrowIfNull(address);
        byte family = FamilyOf(address, nameof(address));
        ValidatePrefix(address, prefixLength);
        Func<string> what = () => $"add address {address}/{prefixLength} to link {DescribeLink(index)}";
        var w = new NetlinkMessageWriter(_request, Interop.Libc.RTM_NEWADDR,
            Interop.Libc.NLM_F_REQUEST | Interop.Libc.NLM_F_ACK | Interop.Libc.NLM_F_CREATE | Interop.Libc.NLM_F_EXCL);
        ref Interop.Libc.ifaddrmsg ifa = ref w.Put<Interop.Libc.ifaddrmsg>();
        ifa.ifa_family = family;
        ifa.ifa_prefixlen = (byte)prefixLength;
        ifa.ifa_scope = Interop.Libc.RT_SCOPE_UNIVERSE;
        ifa.ifa_index = (uint)index;
        uint flags = noDad ? Interop.Libc.IFA_F_NODAD : 0;
        ifa.ifa_flags = (byte)flags;
        w.AttributeAddress(Interop.Libc.IFA_LOCAL, address);
        w.AttributeAddress(Interop.Libc.IFA_ADDRESS, address);
        if (flags != 0)
        {
            w.AttributeU32(Interop.Libc.IFA_FLAGS, flags);
        }

        Transact(ref w, what);
    }

    /// <summary>
    /// The addresses on link <paramref name="index"/> (RTM_GETADDR dump, like `ip addr show dev`), with their prefix
    /// lengths: how the daemon reads the IPv6 link-local address the kernel gave a pod's interface, and how CHECK
    /// sees what the pod has.
    /// </summary>
    public List<(IPAddress Address, int PrefixLength)> GetAddresses(int index)
    {
        var w = new NetlinkMessageWriter(_request, Interop.Libc.RTM_GETADDR, Interop.Libc.NLM_F_REQUEST | Interop.Libc.NLM_F_DUMP);
        w.Put<Interop.Libc.ifaddrmsg>().ifa_index = (uint)index;
        var found = new List<(IPAddress, int)>();
        Transact(ref w, () => $"get addresses of link {DescribeLink(index)}", (type, payload) =>
        {
            int fixedSize = Unsafe.SizeOf<Interop.Libc.ifaddrmsg>();
            if (type != Interop.Libc.RTM_NEWADDR || payload.Length < fixedSize)
            {
                return;
            }

            var ifa = MemoryMarshal.Read<Interop.Libc.ifaddrmsg>(payload);
            if (ifa.ifa_index != (uint)index)
            {
                return; // a dump filters by index only on newer kernels
            }

            var attributes = new NetlinkAttributeReader(payload.Slice(fixedSize));
            IPAddress? address = null;
            while (attributes.MoveNext())
            {
                // IFA_LOCAL is the interface's own address where it differs from IFA_ADDRESS (point-to-point).
                if (attributes.Type == Interop.Libc.IFA_LOCAL || (attributes.Type == Interop.Libc.IFA_ADDRESS && address is null))
                {
                    address = new IPAddress(attributes.Value);
                }
            }

            if (address is not null)
            {
                found.Add((address, ifa.ifa_prefixlen));
            }
        });
        return found;
    }

    /// <summary>
    /// Adds the default route (0.0.0.0/0, by the gateway's family) via <paramref name="gateway"/> out of
    /// the link. <paramref name="onLink"/> (RTNH_F_ONLINK) tells the kernel the gateway is reachable on the
    /// link even though no connected prefix covers it (a /32 pod address, a 169.254.1.1 gateway).
    /// </summary>
    public void AddDefaultRoute(IPAddress gateway, int linkIndex, bool onLink = false)
    {
        ArgumentNullException.ThrowIfNull(gateway);
        IPAddress any = gateway.AddressFamily == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any;
        AddRoute(any, 0, gateway, linkIndex, onLink);
    }

    /// <summary>
    /// Adds a unicast route to <paramref name="destination"/>/<paramref name="prefixLength"/> in the main
    /// table, via <paramref name="gateway"/> if given, else directly connected (scope link) on the link.
    /// </summary>
    public void AddRoute(IPAddress destination, int prefixLength, IPAddress? gateway, int linkIndex, bool onLink = false)
    {
        ArgumentNullException.ThrowIfNull(destination);
        byte family = FamilyOf(destination, nameof(destination));
        ValidatePrefix(destination, prefixLength);
        if (gateway is not null && FamilyOf(gateway, nameof(gateway)) != family)
        {
            throw new ArgumentException($"gateway {gateway} is not of the same family as destination {destination}", nameof(gateway));
        }

        Func<string> what = () => $"add route {(prefixLength == 0 ? "default" : $"{destination}/{prefixLength}")}"
            + (gateway is null ? "" : $" via {gateway}") + $" dev {DescribeLink(linkIndex)}" + (onLink ? " onlink" : "");
        var w = new NetlinkMessageWriter(_request, Interop.Libc.RTM_NEWROUTE,
            Interop.Libc.NLM_F_REQUEST | Interop.Libc.NLM_F_ACK | Interop.Libc.NLM_F_CREATE | Interop.Libc.NLM_F_EXCL);
        ref Interop.Libc.rtmsg rtm = ref w.Put<Interop.Libc.rtmsg>();
        rtm.rtm_family = family;
        rtm.rtm_dst_len = (byte)prefixLength;
        rtm.rtm_table = Interop.Libc.RT_TABLE_MAIN;
        rtm.rtm_protocol = Interop.Libc.RTPROT_BOOT;
        rtm.rtm_scope = gateway is null && family == Interop.Libc.AF_INET ? Interop.Libc.RT_SCOPE_LINK : Interop.Libc.RT_SCOPE_UNIVERSE;
        rtm.rtm_type = Interop.Libc.RTN_UNICAST;
        rtm.rtm_flags = onLink ? Interop.Libc.RTNH_F_ONLINK : 0;
        if (prefixLength > 0)
        {
            w.AttributeAddress(Interop.Libc.RTA_DST, destination);
        }

        if (gateway is not null)
        {
            w.AttributeAddress(Interop.Libc.RTA_GATEWAY, gateway);
        }

        w.AttributeU32(Interop.Libc.RTA_OIF, (uint)linkIndex);
        Transact(ref w, what);
    }

    public void Dispose() => _fd.Dispose();

    // ---- plumbing -----------------------------------------------------------------------------------

    private string Prefix => $"rtnetlink (namespace '{NamespaceLabel}')";

    internal void SetLinkFlags(int index, bool up)
    {
        Func<string> what = () => $"set link {DescribeLink(index)} {(up ? "up" : "down")}";
        var w = new NetlinkMessageWriter(_request, Interop.Libc.RTM_SETLINK, Interop.Libc.NLM_F_REQUEST | Interop.Libc.NLM_F_ACK);
        ref Interop.Libc.ifinfomsg ifi = ref w.Put<Interop.Libc.ifinfomsg>();
        ifi.ifi_index = index;
        ifi.ifi_flags = up ? Interop.Libc.IFF_UP : 0;
        ifi.ifi_change = Interop.Libc.IFF_UP; // only this bit changes
        Transact(ref w, what);
    }

    /// <summary>
    /// "'eth0' (index 2)" for error messages. It is a netlink lookup itself, so it runs only when a request
    /// has already failed (operation descriptions are lazy), never between building a request and sending it.
    /// </summary>
    internal string DescribeLink(int index)
    {
        try
        {
            return TryGetLink(index) is { } link ? $"'{link.Name}' (index {index})" : $"index {index} (no such link)";
        }
        catch (NetlinkException)
        {
            return $"index {index}";
        }
    }

    /// <summary>
    /// Sends the request and reads until its ACK (or NLMSG_DONE for a dump), passing every other reply with
    /// our sequence number to <paramref name="onReply"/>. Returns 0, or <paramref name="toleratedErrno"/> if
    /// the kernel answered with exactly that; any other error throws.
    /// </summary>
    internal int Transact(ref NetlinkMessageWriter writer, Func<string> what, ReplyHandler? onReply = null, int toleratedErrno = 0)
    {
        uint sequence = ++_sequence;
        Send(writer.Finish(sequence), what);
        while (true)
        {
            int length = Receive(what);
            ReadOnlySpan<byte> data = _response.AsSpan(0, length);
            while (data.Length >= Unsafe.SizeOf<Interop.Libc.nlmsghdr>())
            {
                Interop.Libc.nlmsghdr header = MemoryMarshal.Read<Interop.Libc.nlmsghdr>(data);
                int messageLength = (int)header.nlmsg_len;
                if (messageLength < Unsafe.SizeOf<Interop.Libc.nlmsghdr>() || messageLength > data.Length)
                {
                    throw new NetlinkException($"{Prefix}: {what()}: malformed reply (length {messageLength} of {data.Length})", Errno.EIO, null);
                }

                ReadOnlySpan<byte> message = data.Slice(0, messageLength);
                int aligned = (messageLength + 3) & ~3;
                data = aligned >= data.Length ? default : data.Slice(aligned);
                if (header.nlmsg_seq != sequence)
                {
                    continue; // an answer to an earlier request that timed out; not ours
                }

                ReadOnlySpan<byte> payload = message.Slice(Unsafe.SizeOf<Interop.Libc.nlmsghdr>());
                switch (header.nlmsg_type)
                {
                    case Interop.Libc.NLMSG_DONE:
                        return 0;
                    case Interop.Libc.NLMSG_ERROR:
                        int errno = -MemoryMarshal.Read<int>(payload);
                        if (errno == 0)
                        {
                            return 0;
                        }

                        if (errno == toleratedErrno)
                        {
                            return errno;
                        }

                        string? kernelMessage = ExtendedAckMessage(header, payload);
                        throw new NetlinkException(
                            $"{Prefix}: {what()} failed: {Errno.Describe(errno)}{(kernelMessage is null ? "" : $": {kernelMessage}")}",
                            errno,
                            kernelMessage);
                    case Interop.Libc.NLMSG_NOOP:
                        break;
                    case Interop.Libc.NLMSG_OVERRUN:
                        throw new NetlinkException($"{Prefix}: {what()}: receive buffer overrun", Errno.ENOBUFS, null);
                    default:
                        onReply?.Invoke(header.nlmsg_type, payload);
                        break;
                }
            }
        }
    }

    /// <summary>NLMSGERR_ATTR_MSG from an NLMSG_ERROR payload (struct nlmsgerr, maybe the echoed request, then TLVs).</summary>
    private static string? ExtendedAckMessage(Interop.Libc.nlmsghdr header, ReadOnlySpan<byte> payload)
    {
        if ((header.nlmsg_flags & Interop.Libc.NLM_F_ACK_TLVS) == 0)
        {
            return null;
        }

        int offset = Unsafe.SizeOf<Interop.Libc.nlmsgerr>();
        if ((header.nlmsg_flags & Interop.Libc.NLM_F_CAPPED) == 0 && payload.Length >= offset)
        {
            // Not capped: the whole original request follows the error code, not just its header.
            var original = MemoryMarshal.Read<Interop.Libc.nlmsghdr>(payload.Slice(sizeof(int)));
            offset = sizeof(int) + (((int)original.nlmsg_len + 3) & ~3);
        }

        if (offset >= payload.Length)
        {
            return null;
        }

        var attributes = new NetlinkAttributeReader(payload.Slice(offset));
        while (attributes.MoveNext())
        {
            if (attributes.Type == Interop.Libc.NLMSGERR_ATTR_MSG)
            {
                return attributes.ValueString;
            }
        }

        return null;
    }

    private unsafe void Send(ReadOnlySpan<byte> message, Func<string> what)
    {
        Interop.Libc.sockaddr_nl kernel = default;
        kernel.nl_family = Interop.Libc.AF_NETLINK;
        fixed (byte* p = message)
        {
            while (true)
            {
                nint sent = Interop.Libc.sendto(_fd, p, (nuint)message.Length, 0, &kernel, (uint)sizeof(Interop.Libc.sockaddr_nl));
                if (sent >= 0)
                {
                    return;
                }

                int errno = Interop.Libc.GetLastErrno();
                if (errno != Errno.EINTR)
                {
                    throw new NetlinkException($"{Prefix}: {what()}: sendto failed: {Errno.Describe(errno)}", errno, null);
                }
            }
        }
    }

    private unsafe int Receive(Func<string> what)
    {
        fixed (byte* p = _response)
        {
            while (true)
            {
                // MSG_TRUNC makes recv return the real length, so an oversized message is detected, not cut.
                nint n = Interop.Libc.recv(_fd, p, (nuint)_response.Length, Interop.Libc.MSG_TRUNC);
                if (n > _response.Length)
                {
                    throw new NetlinkException($"{Prefix}: {what()}: a {n}-byte reply does not fit the {_response.Length}-byte buffer", Errno.EMSGSIZE, null);
                }

                if (n > 0)
                {
                    return (int)n;
                }

                int errno = n == 0 ? Errno.EIO : Interop.Libc.GetLastErrno();
                if (errno == Errno.EINTR)
                {
                    continue;
                }

                if (errno == Errno.EAGAIN)
                {
                    throw new NetlinkException($"{Prefix}: {what()}: no answer from the kernel within {ReceiveTimeoutSeconds} s", Errno.ETIMEDOUT, null);
                }

                throw new NetlinkException($"{Prefix}: {what()}: recv failed: {Errno.Describe(errno)}", errno, null);
            }
        }
    }

    internal static LinkInfo? ParseLink(ReadOnlySpan<byte> payload)
    {
        int fixedSize = Unsafe.SizeOf<Interop.Libc.ifinfomsg>();
        if (payload.Length < fixedSize)
        {
            return null;
        }

        var ifi = MemoryMarshal.Read<Interop.Libc.ifinfomsg>(payload);
        string? name = null;
        string? kind = null;
        PhysicalAddress? address = null;
        int mtu = 0;
        int master = 0;
        var attributes = new NetlinkAttributeReader(payload.Slice(fixedSize));
        while (attributes.MoveNext())
        {
            switch (attributes.Type)
            {
                case Interop.Libc.IFLA_IFNAME:
                    name = attributes.ValueString;
                    break;
                case Interop.Libc.IFLA_ADDRESS:
                    address = new PhysicalAddress(attributes.Value.ToArray());
                    break;
                case Interop.Libc.IFLA_MTU:
                    mtu = (int)attributes.ValueU32;
                    break;
                case Interop.Libc.IFLA_MASTER:
                    master = (int)attributes.ValueU32;
                    break;
                case Interop.Libc.IFLA_LINKINFO:
                    var info = new NetlinkAttributeReader(attributes.Value);
                    while (info.MoveNext())
                    {
                        if (info.Type == Interop.Libc.IFLA_INFO_KIND)
                        {
                            kind = info.ValueString;
                        }
                    }

                    break;
            }
        }

        return name is null ? null : new LinkInfo(ifi.ifi_index, name, kind, address, mtu, ifi.ifi_flags, master);
    }

    private static byte FamilyOf(IPAddress address, string paramName) => address.AddressFamily switch
    {
        AddressFamily.InterNetwork => Interop.Libc.AF_INET,
        AddressFamily.InterNetworkV6 => Interop.Libc.AF_INET6,
        _ => throw new ArgumentException($"{address} is neither IPv4 nor IPv6", paramName),
    };

    private static void ValidatePrefix(IPAddress address, int prefixLength)
    {
        int max = address.AddressFamily == AddressFamily.InterNetworkV6 ? 128 : 32;
        if (prefixLength < 0 || prefixLength > max)
        {
            throw new ArgumentOutOfRangeException(nameof(prefixLength), prefixLength, $"prefix length for {address} must be 0..{max}");
        }
    }

    private static string FormatMac(byte[] bytes) => string.Join(':', bytes.Select(b => b.ToString("x2", System.Globalization.CultureInfo.InvariantCulture)));
}
