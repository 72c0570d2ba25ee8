using Dataplane.Io;

namespace Dataplane.Daemon.Transports;

/// <summary>
/// An eventfd that wakes a worker sleeping in its transport's <see cref="IWorkerTransport.Wait"/> (epoll watches
/// it, io_uring keeps a read armed on it), so Stop does not wait out the idle timeout. Created with the worker,
/// before its thread, so Stop can signal whichever transport is running, or about to.
/// </summary>
public sealed class WorkerWakeup : IDisposable
{
    private readonly SafeFileDescriptor _fd;

    public WorkerWakeup()
    {
        int fd = Interop.Libc.eventfd(0, Interop.Libc.EFD_NONBLOCK | Interop.Libc.EFD_CLOEXEC);
        if (fd < 0)
        {
            throw ErrnoException.FromLastError("eventfd for a worker's wakeup");
        }

        _fd = new SafeFileDescriptor(fd, ownsHandle: true);
    }

    public SafeFileDescriptor Fd => _fd;

    /// <summary>Safe from any thread.</summary>
    public unsafe void Signal()
    {
        if (!_fd.IsClosed)
        {
            ulong one = 1;
            // EAGAIN only if the counter is at its maximum, when a wakeup is pending anyway.
            _ = Interop.Libc.write(_fd, (byte*)&one, sizeof(ulong));
        }
    }

    /// <summary>Resets the counter so a level-triggered watcher (epoll) sleeps again.</summary>
    public unsafe void Drain()
    {
        ulong value;
        _ = Interop.Libc.read(_fd, (byte*)&value, sizeof(ulong));
    }

    public void Dispose() => _fd.Dispose();
}
