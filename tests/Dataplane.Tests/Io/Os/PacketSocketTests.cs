using System.Net.NetworkInformation;
using System.Security.Cryptography;
using Dataplane.Io;
using Dataplane.Io.Netlink;
using Dataplane.Io.Netns;
using Dataplane.Io.RawSocket;
using Dataplane.Tests.Infrastructure;
using PacketDotNet;

namespace Dataplane.Tests.Io.Os;

/// <summary>Both ends of the wire are veth ends inside test namespaces; the sockets are opened in there.</summary>
[Trait("Category", "e2e")]
public sealed class PacketSocketTests : IDisposable
{
    // IEEE 802 "local experimental" EtherType: nothing in the kernel reacts to it.
    private const EthernetType Experimental = (EthernetType)0x88B5;
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(5);
    private readonly TestNamespaces _test = new();

    public void Dispose() => _test.Dispose();

    [RootTheory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_frame_written_on_one_veth_end_is_read_on_the_peer_and_not_echoed_to_the_sender(bool qdiscBypass)
    {
        string a = _test.Add();
        string b = _test.Add();
        using NetworkNamespace nsA = NetworkNamespace.Open(a);
        using NetworkNamespace nsB = NetworkNamespace.Open(b);
        using (RtNetlink net = nsA.OpenNetlink())
        {
            net.CreateVethPair("dpt-va", "dpt-vb", nsB.Handle);
            net.SetLinkUp(net.GetLinkIndex("dpt-va"));
        }

        using (RtNetlink net = nsB.OpenNetlink())
        {
            net.SetLinkUp(net.GetLinkIndex("dpt-vb"));
        }

        var options = new PacketSocketOptions { QdiscBypass = qdiscBypass };
        using PacketSocket sender = nsA.Run(() => PacketSocket.Open("dpt-va", options));
        using PacketSocket receiver = nsB.Run(() => PacketSocket.Open("dpt-vb", options));
        byte[] marker = RandomNumberGenerator.GetBytes(16);
        // Unicast to a MAC that is not the peer's: only a promiscuous socket sees it.
        var eth = new EthernetPacket(PhysicalAddress.Parse("02-00-00-00-AA-01"), PhysicalAddress.Parse("02-00-00-00-BB-02"), Experimental)
        {
            PayloadData = [.. marker, .. new byte[30]],
        };
        byte[] frame = eth.Bytes;

        Assert.Equal(frame.Length, sender.Write(frame));

        byte[] received = FrameWaiter.ReadUntil(receiver.Fd, receiver.Read, f => f.AsSpan().IndexOf(marker) >= 0, s_timeout, "the marked frame on the peer");
        Assert.Equal(frame, received);
        List<byte[]> echoed = FrameWaiter.Drain(sender.Fd, sender.Read, TimeSpan.FromMilliseconds(200));
        Assert.DoesNotContain(echoed, f => f.AsSpan().IndexOf(marker) >= 0);

        // The kernel never hands a packet socket its own transmissions (skb_loop_sk); what it does hand it is every
        // other sender's on the interface, marked PACKET_OUTGOING, which a reader must skip (the kernel's own IPv6
        // ND/MLD frames came and went at random, so a second socket sends one on purpose, through the qdisc layer:
        // a PACKET_QDISC_BYPASS send skips dev_queue_xmit_nit and is seen by no one).
        long skippedBefore = sender.OutgoingSkipped;
        using PacketSocket other = nsA.Run(() => PacketSocket.Open("dpt-va", new PacketSocketOptions { QdiscBypass = false }));
        byte[] otherMarker = RandomNumberGenerator.GetBytes(16);
        var otherFrame = new EthernetPacket(PhysicalAddress.Parse("02-00-00-00-AA-01"), PhysicalAddress.Parse("02-00-00-00-BB-02"), Experimental)
        {
            PayloadData = [.. otherMarker, .. new byte[30]],
        };
        Assert.Equal(otherFrame.Bytes.Length, other.Write(otherFrame.Bytes));
        FrameWaiter.ReadUntil(receiver.Fd, receiver.Read, f => f.AsSpan().IndexOf(otherMarker) >= 0, s_timeout, "the second socket's frame on the peer");
        Assert.DoesNotContain(FrameWaiter.Drain(sender.Fd, sender.Read, TimeSpan.FromMilliseconds(200)), f => f.AsSpan().IndexOf(otherMarker) >= 0);
        Assert.True(sender.OutgoingSkipped > skippedBefore, "another socket's transmission on the sender's interface was not seen and skipped");
        Assert.Equal(0, receiver.Truncated);
        using RtNetlink netB = nsB.OpenNetlink();
        Assert.Equal(netB.GetLinkIndex("dpt-vb"), receiver.InterfaceIndex);
    }

    [RootFact]
    public void A_frame_larger_than_the_buffer_is_reported_as_EMSGSIZE_and_counted()
    {
        string a = _test.Add();
        using NetworkNamespace ns = NetworkNamespace.Open(a);
        using (RtNetlink net = ns.OpenNetlink())
        {
            net.CreateVethPair("dpt-va", "dpt-vb");
            net.SetLinkUp(net.GetLinkIndex("dpt-va"));
            net.SetLinkUp(net.GetLinkIndex("dpt-vb"));
        }

        using PacketSocket sender = ns.Run(() => PacketSocket.Open("dpt-va"));
        using PacketSocket receiver = ns.Run(() => PacketSocket.Open("dpt-vb"));
        var eth = new EthernetPacket(PhysicalAddress.Parse("02-00-00-00-AA-01"), PhysicalAddress.Parse("02-00-00-00-BB-02"), Experimental)
        {
            PayloadData = new byte[200],
        };
        Assert.True(sender.Write(eth.Bytes) > 0);

        var small = new byte[64];
        int result = 0;
        Poll.Until(() => (result = receiver.Read(small)) == -Errno.EMSGSIZE, s_timeout, "the oversized frame to be reported");

        Assert.Equal(-Errno.EMSGSIZE, result);
        Assert.True(receiver.Truncated >= 1);
    }

    [RootFact]
    public void Reads_and_writes_allocate_nothing()
    {
        using NetworkNamespace ns = NetworkNamespace.Open(_test.Add());
        using (RtNetlink net = ns.OpenNetlink())
        {
            net.CreateVethPair("dpt-va", "dpt-vb");
            net.SetLinkUp(net.GetLinkIndex("dpt-va"));
            net.SetLinkUp(net.GetLinkIndex("dpt-vb"));
        }

        using PacketSocket a = ns.Run(() => PacketSocket.Open("dpt-va"));
        using PacketSocket b = ns.Run(() => PacketSocket.Open("dpt-vb"));
        byte[] frame = new EthernetPacket(PhysicalAddress.Parse("02-00-00-00-AA-01"), PhysicalAddress.Parse("02-00-00-00-BB-02"), Experimental)
        {
            PayloadData = new byte[46],
        }.Bytes;
        var buffer = new byte[2048];
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
            a.Write(frame);
            while (b.Read(buffer) > 0)
            {
            }

            while (a.Read(buffer) > 0)
            {
            }
        }
    }

    [RootFact]
    public void Opening_on_a_missing_interface_throws_ENODEV_naming_it()
    {
        using NetworkNamespace ns = NetworkNamespace.Open(_test.Add());

        var e = Assert.Throws<ErrnoException>(() => ns.Run(() => PacketSocket.Open("dpt-none")));

        Assert.Equal(Errno.ENODEV, e.Errno);
        Assert.Contains("dpt-none", e.Message, StringComparison.Ordinal);
    }
}
