using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Dataplane.Io.Epoll;

namespace Dataplane.Tests.Io.Os;

[Trait("Category", "unit")]
public class EpollLoopTests
{
    [Fact]
    public void Wait_returns_zero_when_the_timeout_passes()
    {
        using var loop = new EpollLoop();
        var events = new EpollEvent[4];

        Assert.Equal(0, loop.Wait(events, 10));
    }

    [Fact]
    public void Wakeup_from_another_thread_ends_a_blocking_wait_once()
    {
        using var loop = new EpollLoop();
        var events = new EpollEvent[4];
        var clock = Stopwatch.StartNew();
        var waker = new Thread(loop.Wakeup);

        waker.Start();
        int n = loop.Wait(events, 10_000);
        waker.Join();

        Assert.Equal(1, n);
        Assert.Equal(EpollLoop.WakeupToken, events[0].Token);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5));
        Assert.Equal(0, loop.Wait(events, 0)); // drained: it does not fire again
    }

    [Fact]
    public void A_readable_descriptor_is_reported_with_its_token()
    {
        // Loopback UDP only: nothing leaves the host.
        using var receiver = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        receiver.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        using var sender = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        using var loop = new EpollLoop();
        loop.Add(receiver.SafeHandle, 42);
        var events = new EpollEvent[4];
        Assert.Equal(0, loop.Wait(events, 0));

        sender.SendTo(new byte[] { 1, 2, 3 }, receiver.LocalEndPoint!);
        int n = loop.Wait(events, 5_000);

        Assert.Equal(1, n);
        Assert.Equal(42, events[0].Token);
        Assert.True(events[0].IsReadable);
        Assert.Equal(EpollEvents.In, events[0].Events);

        loop.Control(Interop.Libc.EPOLL_CTL_DEL, receiver.SafeHandle, 0, EpollEvents.None, "descriptor");
        Assert.Equal(0, loop.Wait(events, 0));
    }

    [Fact]
    public void Wait_and_wakeup_allocate_nothing()
    {
        using var loop = new EpollLoop();
        var events = new EpollEvent[4];
        for (int i = 0; i < 100; i++)
        {
            loop.Wakeup();
            loop.Wait(events, 0);
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++)
        {
            loop.Wakeup();
            loop.Wait(events, 0);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void The_wakeup_token_is_reserved()
    {
        using var loop = new EpollLoop();
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);

        Assert.Throws<ArgumentOutOfRangeException>(() => loop.Add(socket.SafeHandle, EpollLoop.WakeupToken));
    }
}
