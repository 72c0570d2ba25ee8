using System.Runtime.InteropServices;

namespace Dataplane.Io.Epoll;

/// <summary>
/// A thin epoll(7) wrapper: register descriptors with an int token, wait for readiness into a caller-owned
/// span (no allocation per call), and wake a waiting thread from any other thread through an eventfd
/// (for shutdown). Level-triggered unless <see cref="EpollEvents.EdgeTriggered"/> is asked for.
/// x86_64 only for now: there struct epoll_event is packed (12 bytes) and <see cref="EpollEvent"/> matches
/// it; arm64 uses a 16-byte layout and would need its own struct.
/// </summary>
public sealed class EpollLoop : IDisposable
{
    /// <summary>The token reported when <see cref="Wakeup"/> was called. Add rejects it for descriptors.</summary>
    public const int WakeupToken = -1;

    private readonly SafeFileDescriptor _epoll;
    private readonly SafeFileDescriptor _wakeup;

    public EpollLoop()
    {
        if (!Interop.Libc.IsEpollEventLayoutNative)
        {
            throw new PlatformNotSupportedException(
                $"EpollLoop supports x86_64 only: struct epoll_event is packed (12 bytes) there but not on {RuntimeInformation.ProcessArchitecture}");
        }

        int epoll = Interop.Libc.epoll_create1(Interop.Libc.EPOLL_CLOEXEC);
        if (epoll < 0)
        {
            throw ErrnoException.FromLastError("epoll_create1");
        }

        _epoll = new SafeFileDescriptor(epoll, ownsHandle: true);
        int wakeup = Interop.Libc.eventfd(0, Interop.Libc.EFD_NONBLOCK | Interop.Libc.EFD_CLOEXEC);
        if (wakeup < 0)
        {
            int errno = Interop.Libc.GetLastErrno();
            _epoll.Dispose();
            throw ErrnoException.FromErrno("eventfd for the epoll wakeup", errno);
        }

        _wakeup = new SafeFileDescriptor(wakeup, ownsHandle: true);

        try
        {
            Control(Interop.Libc.EPOLL_CTL_ADD, _wakeup, WakeupToken, EpollEvents.In, "wakeup eventfd");
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>Watches <paramref name="fd"/>; its events come back with <paramref name="token"/> (not -1).</summary>
    public void Add(SafeHandle fd, int token, EpollEvents events = EpollEvents.In)
    {
        ArgumentNullException.ThrowIfNull(fd);
        if (token == WakeupToken)
        {
            throw new ArgumentOutOfRangeException(nameof(token), token, "token -1 is reserved for the wakeup eventfd");
        }

        Control(Interop.Libc.EPOLL_CTL_ADD, fd, token, events, $"token {token}");
    }

    /// <summary>Stops watching <paramref name="fd"/> (a pod went away); its fd is still open, so EPOLL_CTL_DEL finds it.</summary>
    public void Remove(SafeHandle fd)
    {
        ArgumentNullException.ThrowIfNull(fd);
        Control(Interop.Libc.EPOLL_CTL_DEL, fd, 0, EpollEvents.In, "remove");
    }

    /// <summary>
    /// Waits up to <paramref name="timeoutMs"/> (-1: forever, 0: poll) and fills <paramref name="events"/>.
    /// Returns how many are ready; 0 on timeout or when a signal interrupted the wait (EINTR). A wakeup shows
    /// as an event with <see cref="WakeupToken"/>, already drained, so the next Wait blocks again.
    /// </summary>
    public unsafe int Wait(Span<EpollEvent> events, int timeoutMs)
    {
        if (events.IsEmpty)
        {
            throw new ArgumentException("need room for at least one event", nameof(events));
        }

        int n;
        fixed (EpollEvent* p = events)
        {
            n = Interop.Libc.epoll_wait(_epoll, (Interop.Libc.epoll_event*)p, events.Length, timeoutMs);
        }

        if (n < 0)
        {
            int errno = Interop.Libc.GetLastErrno();
            if (errno == Errno.EINTR)
            {
                return 0;
            }

            throw ErrnoException.FromErrno("epoll_wait", errno);
        }

        for (int i = 0; i < n; i++)
        {
            if (events[i].Token == WakeupToken)
            {
                DrainWakeup();
            }
        }

        return n;
    }

    /// <summary>Makes a current or the next <see cref="Wait"/> return; safe from any thread.</summary>
    public unsafe void Wakeup()
    {
        ulong one = 1;
        // EAGAIN only if the counter is at its maximum, when a wakeup is pending anyway.
        _ = Interop.Libc.write(_wakeup, (byte*)&one, sizeof(ulong));
    }

    public void Dispose()
    {
        _wakeup.Dispose();
        _epoll.Dispose();
    }

    private unsafe void DrainWakeup()
    {
        ulong value;
        _ = Interop.Libc.read(_wakeup, (byte*)&value, sizeof(ulong));
    }

    internal unsafe void Control(int op, SafeHandle fd, int token, EpollEvents events, string what)
    {
        var ev = new Interop.Libc.epoll_event { events = (uint)events, data = (uint)token };
        if (Interop.Libc.epoll_ctl(_epoll, op, fd, &ev) < 0)
        {
            string verb = op switch
            {
                Interop.Libc.EPOLL_CTL_ADD => "EPOLL_CTL_ADD",
                Interop.Libc.EPOLL_CTL_MOD => "EPOLL_CTL_MOD",
                _ => "EPOLL_CTL_DEL",
            };
            throw ErrnoException.FromLastError($"epoll_ctl({verb}) for {what}");
        }
    }
}
