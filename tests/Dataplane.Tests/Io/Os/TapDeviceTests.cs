using Dataplane.Io;
using Dataplane.Io.Netlink;
using Dataplane.Io.Netns;
using Dataplane.Io.Tap;
using Dataplane.Tests.Infrastructure;

namespace Dataplane.Tests.Io.Os;

/// <summary>TAP devices are made inside a test namespace (Run), never in the host's.</summary>
[Trait("Category", "e2e")]
public sealed class TapDeviceTests : IDisposable
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(5);
    private readonly TestNamespaces _test = new();

    public void Dispose() => _test.Dispose();

    [RootFact]
    public void Tap_exists_while_its_fd_is_open_and_disappears_when_it_closes()
    {
        string nsName = _test.Add();
        using NetworkNamespace ns = NetworkNamespace.Open(nsName);
        using RtNetlink netlink = ns.OpenNetlink();

        TapDevice tap = ns.Run(() => TapDevice.Create("dpt-tap0"));
        try
        {
            Assert.Equal("dpt-tap0", tap.Name);
            LinkInfo? link = netlink.TryGetLink("dpt-tap0");
            Assert.NotNull(link);
            Assert.Equal("tun", link.Kind);
            Assert.False(tap.Fd.IsInvalid);
        }
        finally
        {
            tap.Dispose();
        }

        Poll.Until(() => netlink.TryGetLink("dpt-tap0") is null, s_timeout, "the TAP to disappear after its fd closed");
        Assert.DoesNotContain("dpt-tap0", TestNamespaces.LinkNames(nsName));
    }

    [RootFact]
    public void Read_with_nothing_queued_returns_minus_EAGAIN()
    {
        using NetworkNamespace ns = NetworkNamespace.Open(_test.Add());
        using TapDevice tap = ns.Run(() => TapDevice.Create("dpt-tap0"));

        Assert.Equal(-Errno.EAGAIN, tap.Read(new byte[2048]));
    }

    [RootFact]
    public void Reads_and_writes_allocate_nothing()
    {
        using NetworkNamespace ns = NetworkNamespace.Open(_test.Add());
        using TapDevice tap = ns.Run(() => TapDevice.Create("dpt-tap0", new TapOptions { VnetHeader = true }));
        var header = new byte[tap.VnetHeaderSize];
        var frame = new byte[2048];
        for (int i = 0; i < 100; i++)
        {
            Exercise();
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++)
        {
            Exercise();
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);

        void Exercise()
        {
            tap.Read(frame);
            tap.Read(header, frame);
            tap.Write(frame.AsSpan(0, 60));
            tap.Write(header, frame.AsSpan(0, 60));
        }
    }

    [RootFact]
    public void Writing_into_a_down_tap_returns_minus_EIO_not_an_exception()
    {
        using NetworkNamespace ns = NetworkNamespace.Open(_test.Add());
        using TapDevice tap = ns.Run(() => TapDevice.Create("dpt-tap0"));

        int result = tap.Write(new byte[60]);

        Assert.Equal(-Errno.EIO, result);
    }

    [RootTheory]
    [InlineData(12)]
    [InlineData(10)]
    public void Vnet_header_size_is_what_we_set(int size)
    {
        using NetworkNamespace ns = NetworkNamespace.Open(_test.Add());
        var options = new TapOptions { VnetHeader = true, VnetHeaderSize = size, Offloads = TapOffloads.Checksum | TapOffloads.Tso4 | TapOffloads.Tso6 };

        using TapDevice tap = ns.Run(() => TapDevice.Create("dpt-tap0", options));

        Assert.Equal(size, tap.VnetHeaderSize);
        Assert.Equal(size, QueryVnetHeaderSize(tap));
        Assert.Equal(options.Offloads, tap.Offloads);
    }

    [RootFact]
    public void Without_vnet_header_the_kernel_keeps_its_default_and_frames_have_no_header()
    {
        using NetworkNamespace ns = NetworkNamespace.Open(_test.Add());
        using TapDevice tap = ns.Run(() => TapDevice.Create("dpt-tap0"));

        Assert.Equal(0, tap.VnetHeaderSize);
    }

    [RootFact]
    public void Creating_a_tap_whose_name_is_taken_fails_with_EBUSY_naming_it()
    {
        using NetworkNamespace ns = NetworkNamespace.Open(_test.Add());
        using TapDevice first = ns.Run(() => TapDevice.Create("dpt-tap0"));

        var e = Assert.Throws<ErrnoException>(() => ns.Run(() => TapDevice.Create("dpt-tap0")));

        Assert.Equal(Errno.EBUSY, e.Errno);
        Assert.Contains("dpt-tap0", e.Message, StringComparison.Ordinal);
        Assert.Contains("EBUSY", e.Message, StringComparison.Ordinal);
    }

    [RootFact]
    public void A_name_template_gets_the_kernel_chosen_name()
    {
        using NetworkNamespace ns = NetworkNamespace.Open(_test.Add());

        using TapDevice tap = ns.Run(() => TapDevice.Create("dpt%d"));

        Assert.Matches("^dpt[0-9]+$", tap.Name);
    }

    [Fact]
    public void Offloads_without_a_vnet_header_are_rejected_before_any_syscall()
    {
        var e = Assert.Throws<ArgumentException>(() => TapDevice.Create("dpt-x", new TapOptions { Offloads = TapOffloads.Checksum }));
        Assert.Contains("VnetHeader", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => TapDevice.Create("dpt-x", new TapOptions { VnetHeader = true, Offloads = TapOffloads.Tso4 }));
        Assert.Throws<ArgumentException>(() => TapDevice.Create("a-name-that-is-too-long"));
    }

    [Fact]
    public void Virtio_header_round_trips_in_both_sizes()
    {
        var header = new VirtioNetHeader
        {
            Flags = VirtioNetHeader.FlagNeedsCsum,
            GsoType = VirtioNetHeader.GsoTcpV4,
            HdrLen = 54,
            GsoSize = 1448,
            CsumStart = 34,
            CsumOffset = 16,
            NumBuffers = 1,
        };
        var buffer = new byte[12];

        Assert.True(header.TryWrite(buffer, VirtioNetHeader.Size));
        Assert.Equal(new byte[] { 1, 1, 54, 0, 0xA8, 0x05, 34, 0, 16, 0, 1, 0 }, buffer);
        Assert.True(VirtioNetHeader.TryRead(buffer, VirtioNetHeader.Size, out VirtioNetHeader back));
        Assert.Equal(header, back);
        Assert.True(VirtioNetHeader.TryRead(buffer, VirtioNetHeader.LegacySize, out VirtioNetHeader legacy));
        Assert.Equal(0, legacy.NumBuffers);
        Assert.True(legacy.NeedsChecksum && legacy.IsGso);
        Assert.False(VirtioNetHeader.TryRead(buffer.AsSpan(0, 9), VirtioNetHeader.LegacySize, out _));
    }

    /// <summary>Reads the header size back from the kernel (TUNGETVNETHDRSZ).</summary>
    private static unsafe int QueryVnetHeaderSize(TapDevice tap)
    {
        int size = 0;
        if (Interop.Libc.ioctl(tap.Fd, Interop.Libc.TUNGETVNETHDRSZ, &size) < 0)
        {
            throw ErrnoException.FromLastError($"TUNGETVNETHDRSZ on TAP '{tap.Name}'");
        }

        return size;
    }
}
