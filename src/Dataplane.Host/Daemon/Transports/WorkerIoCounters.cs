namespace Dataplane.Daemon.Transports;

/// <summary>
/// A worker's I/O counters, shared by whichever transport it runs (a fallback keeps counting in the same place)
/// and read by `ctl` from other threads. Written by the worker's thread only.
/// </summary>
public sealed class WorkerIoCounters
{
    /// <summary>Frames that could not be read (errors other than EAGAIN, or shorter than their virtio-net header).</summary>
    public long ReadErrors;
}
