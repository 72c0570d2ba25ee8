using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Dataplane.Io.Epoll;
using static Dataplane.Interop.Libc;

namespace Dataplane.Tests.Io.Os;

/// <summary>The C structs and ioctl numbers match the x86_64 Linux ABI byte for byte.</summary>
[Trait("Category", "unit")]
public class InteropLayoutTests
{
    [Fact]
    public void Struct_sizes_match_the_kernel_abi()
    {
        Assert.Equal(40, Unsafe.SizeOf<ifreq>());
        Assert.Equal(20, Unsafe.SizeOf<sockaddr_ll>());
        Assert.Equal(16, Unsafe.SizeOf<packet_mreq>());
        Assert.Equal(12, Unsafe.SizeOf<sockaddr_nl>());
        Assert.Equal(16, Unsafe.SizeOf<nlmsghdr>());
        Assert.Equal(20, Unsafe.SizeOf<nlmsgerr>());
        Assert.Equal(4, Unsafe.SizeOf<nlattr>());
        Assert.Equal(4, Unsafe.SizeOf<rtattr>());
        Assert.Equal(16, Unsafe.SizeOf<ifinfomsg>());
        Assert.Equal(8, Unsafe.SizeOf<ifaddrmsg>());
        Assert.Equal(12, Unsafe.SizeOf<rtmsg>());
        Assert.Equal(10, Unsafe.SizeOf<virtio_net_hdr>());
        Assert.Equal(12, Unsafe.SizeOf<virtio_net_hdr_mrg_rxbuf>());
        Assert.Equal(16, Unsafe.SizeOf<iovec>());
        Assert.Equal(16, Unsafe.SizeOf<timeval>());
    }

    [Fact]
    public void Epoll_event_is_packed_on_x86_64_and_the_public_mirror_matches_it()
    {
        if (RuntimeInformation.ProcessArchitecture != Architecture.X64)
        {
            return; // the packed layout is x86_64-only; EpollLoop refuses to run elsewhere
        }

        Assert.Equal(12, Unsafe.SizeOf<epoll_event>());
        Assert.Equal(12, Unsafe.SizeOf<EpollEvent>());
        Assert.Equal(4, (int)Marshal.OffsetOf<epoll_event>(nameof(epoll_event.data)));
        var ev = new EpollEvent(EpollEvents.In | EpollEvents.HangUp, 1234);
        epoll_event raw = Unsafe.As<EpollEvent, epoll_event>(ref ev);
        Assert.Equal(EPOLLIN | EPOLLHUP, raw.events);
        Assert.Equal(1234UL, raw.data);
    }

    [Fact]
    public void Field_offsets_match_the_kernel_abi()
    {
        Assert.Equal(16, (int)Marshal.OffsetOf<ifreq>(nameof(ifreq.ifr_flags)));
        Assert.Equal(4, (int)Marshal.OffsetOf<sockaddr_ll>(nameof(sockaddr_ll.sll_ifindex)));
        Assert.Equal(10, (int)Marshal.OffsetOf<sockaddr_ll>(nameof(sockaddr_ll.sll_pkttype)));
        Assert.Equal(11, (int)Marshal.OffsetOf<sockaddr_ll>(nameof(sockaddr_ll.sll_halen)));
        Assert.Equal(12, (int)Marshal.OffsetOf<sockaddr_ll>("sll_addr"));
        Assert.Equal(6, (int)Marshal.OffsetOf<packet_mreq>(nameof(packet_mreq.mr_alen)));
        Assert.Equal(4, (int)Marshal.OffsetOf<sockaddr_nl>(nameof(sockaddr_nl.nl_pid)));
        Assert.Equal(8, (int)Marshal.OffsetOf<nlmsghdr>(nameof(nlmsghdr.nlmsg_seq)));
        Assert.Equal(4, (int)Marshal.OffsetOf<ifinfomsg>(nameof(ifinfomsg.ifi_index)));
        Assert.Equal(12, (int)Marshal.OffsetOf<ifinfomsg>(nameof(ifinfomsg.ifi_change)));
        Assert.Equal(4, (int)Marshal.OffsetOf<ifaddrmsg>(nameof(ifaddrmsg.ifa_index)));
        Assert.Equal(8, (int)Marshal.OffsetOf<rtmsg>(nameof(rtmsg.rtm_flags)));
        Assert.Equal(10, (int)Marshal.OffsetOf<virtio_net_hdr_mrg_rxbuf>(nameof(virtio_net_hdr_mrg_rxbuf.num_buffers)));
    }

    [Fact]
    public void Tun_ioctl_numbers_follow_the_IOW_IOR_encoding()
    {
        static uint Iow(int nr) => ((1u << 30) | (4u << 16) | ('T' << 8) | (uint)nr);
        static uint Ior(int nr) => (uint)((2u << 30) | (4u << 16) | ('T' << 8) | (uint)nr);
        Assert.Equal(TUNSETIFF, Iow(202));
        Assert.Equal(TUNSETPERSIST, Iow(203));
        Assert.Equal(TUNSETOFFLOAD, Iow(208));
        Assert.Equal(TUNSETVNETHDRSZ, Iow(216));
        Assert.Equal(TUNGETFEATURES, Ior(207));
        Assert.Equal(TUNGETIFF, Ior(210));
        Assert.Equal(TUNGETVNETHDRSZ, Ior(215));
    }
}
