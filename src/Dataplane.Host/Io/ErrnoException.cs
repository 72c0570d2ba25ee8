namespace Dataplane.Io;

/// <summary>
/// A setup-time system call failed. The message names the object (device, namespace, path), the call, and
/// the errno; <see cref="Errno"/> lets a caller act on the specific failure.
/// </summary>
public class ErrnoException : IOException
{
    public ErrnoException(string message, int errno)
        : base(message)
    {
        Errno = errno;
    }

    public ErrnoException(string message, int errno, Exception? innerException)
        : base(message, innerException)
    {
        Errno = errno;
    }

    /// <summary>The positive errno value (e.g. <see cref="Io.Errno.ENODEV"/>).</summary>
    public int Errno { get; }

    /// <summary>Builds "{what} failed: ENODEV (No such device)" from the errno of the last P/Invoke.</summary>
    internal static ErrnoException FromLastError(string what) => FromErrno(what, Interop.Libc.GetLastErrno());

    internal static ErrnoException FromErrno(string what, int errno) =>
        new($"{what} failed: {Io.Errno.Describe(errno)}", errno);
}
