using Dataplane.Pipeline;

namespace Dataplane.Daemon.Transports;

/// <summary>
/// How one worker moves frames between its ports and its batch: read/write (<see cref="SyscallTransport"/>),
/// io_uring (<see cref="UringTransport"/>), and later TPACKET rings, AF_XDP or multi-queue TAP, each in one file.
/// <see cref="Worker"/> runs one loop over any of them (clock, busy poll, idle sweep, graph, flush):
/// <code>
/// Wait(timeout) -> Receive(batch, now) [-> BatchFull: run graph, Send per frame, Flushed; Receive again]
///               -> run graph, Send per frame (ITransmitSink), Flushed -> Wait ...
/// </code>
/// Implemented by structs: the worker's loop is generic over the transport, so the JIT compiles it once per
/// transport and <see cref="ITransmitSink.Send"/> (per frame) is a direct, inlinable call. Wait, Receive and
/// Flushed run once per batch. All of it runs on the worker's thread; nothing may allocate, lock or throw per
/// frame. <see cref="ITransmitSink.Send"/> uses <see cref="PortFrames.Outgoing"/> for the virtio-net header and
/// capture, and Receive uses <see cref="PortFrames.Received"/>, so every transport frames alike.
/// </summary>
public interface IWorkerTransport : ITransmitSink, IDisposable
{
    /// <summary>
    /// Hands over what is queued (writes, recycled buffers) and waits up to <paramref name="timeoutNanoseconds"/>
    /// (0: only look) for frames or other I/O. Returns how many events are ready, 0 on timeout. Must return early
    /// when the worker's <see cref="WorkerWakeup"/> is signalled (Stop).
    /// </summary>
    int Wait(long timeoutNanoseconds);

    /// <summary>
    /// Adds the frames that <see cref="Wait"/> found to <paramref name="batch"/>, stamped <paramref name="now"/>.
    /// Returns <see cref="ReceiveStatus.BatchFull"/> when the batch filled with more to take: the worker processes
    /// the batch and calls again, and the transport resumes where it stopped (so one busy port keeps its fairness
    /// budget across the flush).
    /// </summary>
    ReceiveStatus Receive(PacketBatch batch, long now);

    /// <summary>The batch's output has been handed to <see cref="ITransmitSink.Send"/>; the batch is cleared next.</summary>
    void Flushed(PacketBatch batch);

    /// <summary>Why the transport gave up, after <see cref="ReceiveStatus.Failed"/>; the worker then falls back to read/write.</summary>
    string? Failure { get; }

    /// <summary>
    /// A port came (a pod added at run time): frames may now be sent to it, and when <paramref name="owned"/> this
    /// worker receives from it too. Called on the worker's thread between batches (<see cref="Worker"/>'s pause).
    /// </summary>
    void PortAdded(PortDevice device, bool owned);

    /// <summary>
    /// A port went: no frame is sent to it any more, and its owner stops receiving from it. Called on the worker's
    /// thread between batches; the device is closed only after every worker has turned its loop again.
    /// </summary>
    void PortRemoved(PortDevice device, bool owned);
}
