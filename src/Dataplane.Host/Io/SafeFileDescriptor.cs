using System.Runtime.InteropServices;

namespace Dataplane.Io;

/// <summary>
/// A Linux file descriptor (TAP, socket, epoll, eventfd, namespace file). Invalid is -1; releasing it calls
/// close(2) exactly once, so a descriptor is never leaked on an exception path nor closed twice.
/// </summary>
public sealed class SafeFileDescriptor : SafeHandle
{
    /// <summary>An invalid (-1) descriptor.</summary>
    public SafeFileDescriptor()
        : base(new IntPtr(-1), ownsHandle: true)
    {
    }

    public SafeFileDescriptor(int fd, bool ownsHandle)
        : base(new IntPtr(-1), ownsHandle)
    {
        SetHandle(new IntPtr(fd));
    }

    // Compare as a C int: only the low 32 bits of the handle carry the descriptor.
    public override bool IsInvalid => unchecked((int)handle.ToInt64()) < 0;

    /// <summary>The raw descriptor number, for logs and for handing to code that needs an int.</summary>
    public int Value => unchecked((int)handle.ToInt64());

    protected override bool ReleaseHandle()
    {
        // No retry on EINTR: Linux releases the descriptor even when close() reports EINTR.
        return Interop.Libc.close(unchecked((int)handle.ToInt64())) == 0;
    }

    public override string ToString() => IsClosed ? "fd(closed)" : $"fd {Value}";
}
