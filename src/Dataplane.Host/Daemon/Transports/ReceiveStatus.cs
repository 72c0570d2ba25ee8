namespace Dataplane.Daemon.Transports;

/// <summary>What <see cref="IWorkerTransport.Receive"/> did.</summary>
public enum ReceiveStatus
{
    /// <summary>No frame arrived (only write completions, or a port was ready and then had nothing): no busy poll.</summary>
    Idle,

    /// <summary>Frames arrived and all of them are in the batch: the worker keeps polling for a while (busy poll).</summary>
    Received,

    /// <summary>The batch is full and more is waiting: process it and call Receive again.</summary>
    BatchFull,

    /// <summary>The transport cannot go on (<see cref="IWorkerTransport.Failure"/> says why): fall back to read/write.</summary>
    Failed,
}
