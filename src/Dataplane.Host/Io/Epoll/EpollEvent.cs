using System.Runtime.InteropServices;

namespace Dataplane.Io.Epoll;

/// <summary>Readiness bits (EPOLL* from sys/epoll.h).</summary>
[Flags]
public enum EpollEvents : uint
{
    None = 0,
    In = Interop.Libc.EPOLLIN,
    Pri = Interop.Libc.EPOLLPRI,
    Out = Interop.Libc.EPOLLOUT,
    Error = Interop.Libc.EPOLLERR,
    HangUp = Interop.Libc.EPOLLHUP,
    ReadHangUp = Interop.Libc.EPOLLRDHUP,
    EdgeTriggered = Interop.Libc.EPOLLET,
}

/// <summary>
/// One ready descriptor from <see cref="EpollLoop.Wait"/>: which events, and the token it was added with.
/// Laid out exactly like the kernel's struct epoll_event on x86_64 (packed: events at 0, data at 4,
/// 12 bytes) so epoll_wait writes straight into the caller's span with no copy.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 12)]
public readonly struct EpollEvent
{
    [FieldOffset(0)]
    private readonly uint _events;

    [FieldOffset(4)]
    private readonly ulong _data;

    public EpollEvent(EpollEvents events, int token)
    {
        _events = (uint)events;
        _data = (uint)token;
    }

    public EpollEvents Events => (EpollEvents)_events;

    /// <summary>The int given to <see cref="EpollLoop.Add"/>; <see cref="EpollLoop.WakeupToken"/> for a wakeup.</summary>
    public int Token => (int)(uint)_data;

    public bool IsReadable => (_events & (Interop.Libc.EPOLLIN | Interop.Libc.EPOLLERR | Interop.Libc.EPOLLHUP)) != 0;

    public override string ToString() => $"token {Token}: {Events}";
}
