namespace Dataplane.Io;

/// <summary>
/// errno values the I/O paths return as negative numbers (Read/Write return -EAGAIN when there is nothing to
/// do), and a readable rendering of any errno.
/// </summary>
public static class Errno
{
    public const int EPERM = Interop.Libc.EPERM;
    public const int ENOENT = Interop.Libc.ENOENT;
    public const int EINTR = Interop.Libc.EINTR;
    public const int EIO = Interop.Libc.EIO;
    public const int EBADF = Interop.Libc.EBADF;
    public const int EAGAIN = Interop.Libc.EAGAIN;
    public const int ENOMEM = Interop.Libc.ENOMEM;
    public const int EBUSY = Interop.Libc.EBUSY;
    public const int EEXIST = Interop.Libc.EEXIST;
    public const int ENODEV = Interop.Libc.ENODEV;
    public const int EINVAL = Interop.Libc.EINVAL;
    public const int EBADFD = Interop.Libc.EBADFD;
    public const int EMSGSIZE = Interop.Libc.EMSGSIZE;
    public const int EOPNOTSUPP = Interop.Libc.EOPNOTSUPP;
    public const int EADDRNOTAVAIL = Interop.Libc.EADDRNOTAVAIL;
    public const int ENETDOWN = Interop.Libc.ENETDOWN;
    public const int ENETUNREACH = Interop.Libc.ENETUNREACH;
    public const int ENOBUFS = Interop.Libc.ENOBUFS;
    public const int ECANCELED = Interop.Libc.ECANCELED;
    public const int ETIMEDOUT = Interop.Libc.ETIMEDOUT;

    /// <summary>The symbolic name ("ENODEV") of common errno values, or "errno N".</summary>
    public static string Name(int errno) => errno switch
    {
        Interop.Libc.EPERM => "EPERM",
        Interop.Libc.ENOENT => "ENOENT",
        Interop.Libc.EINTR => "EINTR",
        Interop.Libc.EIO => "EIO",
        Interop.Libc.EBADF => "EBADF",
        Interop.Libc.EAGAIN => "EAGAIN",
        Interop.Libc.ENOMEM => "ENOMEM",
        Interop.Libc.EACCES => "EACCES",
        Interop.Libc.EFAULT => "EFAULT",
        Interop.Libc.EBUSY => "EBUSY",
        Interop.Libc.EEXIST => "EEXIST",
        Interop.Libc.ENODEV => "ENODEV",
        Interop.Libc.ENOTDIR => "ENOTDIR",
        Interop.Libc.EINVAL => "EINVAL",
        Interop.Libc.ENOSPC => "ENOSPC",
        Interop.Libc.ERANGE => "ERANGE",
        Interop.Libc.EBADFD => "EBADFD",
        Interop.Libc.EMSGSIZE => "EMSGSIZE",
        Interop.Libc.EPROTONOSUPPORT => "EPROTONOSUPPORT",
        Interop.Libc.EOPNOTSUPP => "EOPNOTSUPP",
        Interop.Libc.EADDRINUSE => "EADDRINUSE",
        Interop.Libc.EADDRNOTAVAIL => "EADDRNOTAVAIL",
        Interop.Libc.ENETDOWN => "ENETDOWN",
        Interop.Libc.ENETUNREACH => "ENETUNREACH",
        Interop.Libc.ENOBUFS => "ENOBUFS",
        Interop.Libc.ETIMEDOUT => "ETIMEDOUT",
        Interop.Libc.EHOSTUNREACH => "EHOSTUNREACH",
        _ => $"errno {errno}",
    };

    /// <summary>"ENODEV (No such device)": the name and the C library's text.</summary>
    public static string Describe(int errno) => $"{Name(errno)} ({Interop.Libc.StrError(errno)})";
}
