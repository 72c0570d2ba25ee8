using System.Collections.Concurrent;
using Dataplane.Model;
using Dataplane.Daemon;
using Dataplane.Daemon.Transports;
using Dataplane.Io.Tap;
using Dataplane.Pipeline;
using Dataplane.Tests.Infrastructure;
using Dataplane.Tests.Pipeline;
using Microsoft.Extensions.Logging.Abstractions;
using PacketDotNet;
using static Dataplane.Tests.Pipeline.TestNode;

namespace Dataplane.Tests.Daemon;

/// <summary>
/// The worker's one loop over a transport that is neither read/write nor io_uring: frames come from and go to
/// in-memory queues. If this works, the loop owes nothing to either real transport.
/// </summary>
[Trait("Category", "unit")]
public class WorkerLoopTests
{
    /// <summary>What the pipeline forwarded, without the next-hop probes the loop's graph makes on its own (Graph.Poll).</summary>
    private static List<(ushort Port, byte[] Frame, PacketFlags Flags)> Forwarded(ConcurrentQueue<(ushort Port, byte[] Frame, PacketFlags Flags)> sent)
        => [.. sent.Where(static s => (s.Flags & PacketFlags.Originated) == 0)];

    [Fact]
    public void A_pause_holds_the_worker_between_batches_and_applies_port_changes_on_its_thread_before_it_goes_on()
    {
        NodeConfig config = TestNode.Config();
        var dataplane = new NodeDataplane(config);
        ushort client = Port(dataplane, "client");
        var inbound = new ConcurrentQueue<(ushort Port, byte[] Frame)>();
        var sent = new ConcurrentQueue<(ushort Port, byte[] Frame, PacketFlags Flags)>();
        var events = new ConcurrentQueue<string>();
        using var worker = new Worker(0, 1, dataplane, new PortDevice?[dataplane.Ports.Capacity], [], new CaptureSession?[dataplane.Ports.Capacity], batchSize: 4, WorkerIo.Syscalls, NullLogger.Instance);
        int workerThread = 0;
        var thread = new Thread(() =>
        {
            workerThread = Environment.CurrentManagedThreadId;
            var transport = new QueueTransport(inbound, sent, new ConcurrentQueue<long>(), header: 0, events);
            _ = worker.Run(ref transport);
        });
        thread.Start();
        try
        {
            Poll.Until(() => worker.LoopPasses > 0, TimeSpan.FromSeconds(10), "the worker to enter its loop");
            var device = new NullDevice(7, "late-pod");
            long batchesBefore = 0;
            long batchesAfterChange = -1;
            Worker.Pause([worker], TimeSpan.FromSeconds(10), () =>
            {
                batchesBefore = worker.Graph.Batches;
                // Queued while paused: the worker must not take it before the change is over and applied.
                inbound.Enqueue((client, Pipeline.Frames.ArpRequest(ClientMac, ClientIp, GatewayIp)));
                worker.Post(device, added: true, owns: true);
                batchesAfterChange = worker.Graph.Batches;
            });

            Assert.Equal(batchesBefore, batchesAfterChange);
            Assert.Contains(device, worker.OwnedPorts);
            Poll.Until(() => Forwarded(sent).Count >= 1, TimeSpan.FromSeconds(10), "the frame queued during the pause to be forwarded");
            string[] seen = [.. events];
            Assert.Equal($"added late-pod owned=True on {workerThread}", seen[0]);
            Assert.StartsWith("sent to ", seen[1], StringComparison.Ordinal);

            Worker.Pause([worker], TimeSpan.FromSeconds(10), () => worker.Post(device, added: false, owns: true));
            Assert.DoesNotContain(device, worker.OwnedPorts);
            Assert.Contains($"removed late-pod owned=True on {workerThread}", events);
        }
        finally
        {
            worker.Stop();
            thread.Join();
        }
    }

    [Fact]
    public void A_pause_does_not_wait_for_a_worker_whose_loop_is_not_running()
    {
        var dataplane = new NodeDataplane(TestNode.Config());
        using var worker = new Worker(0, 1, dataplane, new PortDevice?[dataplane.Ports.Capacity], [], new CaptureSession?[dataplane.Ports.Capacity], batchSize: 4, WorkerIo.Syscalls, NullLogger.Instance);
        bool changed = false;
        Worker.Pause([worker], TimeSpan.FromSeconds(10), () => changed = true);
        Assert.True(changed);
    }

    /// <summary>A port device that is never read or written: what a paused worker is told about.</summary>
    private sealed class NullDevice(ushort port, string name) : PortDevice(port, name, 0)
    {
        public override Dataplane.Io.SafeFileDescriptor Fd => throw new InvalidOperationException("not a real device");

        public override int Read(Span<byte> buffer) => -Dataplane.Io.Errno.EAGAIN;

        public override int Write(ReadOnlySpan<byte> buffer) => buffer.Length;

        public override void Dispose()
        {
        }
    }

    [Fact]
    public void One_loop_drives_an_in_memory_transport_across_several_batches()
    {
        NodeConfig config = TestNode.Config();
        var dataplane = new NodeDataplane(config);
        ushort client = Port(dataplane, "client");
        var inbound = new ConcurrentQueue<(ushort Port, byte[] Frame)>();
        var sent = new ConcurrentQueue<(ushort Port, byte[] Frame, PacketFlags Flags)>();
        var stamps = new ConcurrentQueue<long>();
        const int Frames = 10;
        for (int i = 0; i < Frames; i++)
        {
            inbound.Enqueue((client, Pipeline.Frames.ArpRequest(ClientMac, ClientIp, GatewayIp)));
        }

        // A batch of 4: ten frames take BatchFull twice before the last, partial batch.
        using var worker = new Worker(0, 1, dataplane, [], [], new CaptureSession?[dataplane.Ports.Count], batchSize: 4, WorkerIo.Syscalls, NullLogger.Instance);
        long before = PipelineClock.Now();
        string? failure = "not run";
        int flushes = 0;
        var thread = new Thread(() =>
        {
            var transport = new QueueTransport(inbound, sent, stamps, header: 0);
            failure = worker.Run(ref transport);
            flushes = transport.Flushes;
        });
        thread.Start();
        try
        {
            Poll.Until(() => Forwarded(sent).Count >= Frames, TimeSpan.FromSeconds(10), "the worker to forward every frame");
        }
        finally
        {
            worker.Stop();
            thread.Join();
        }

        long after = PipelineClock.Now();
        Assert.Null(failure);
        Assert.Equal(Frames, Forwarded(sent).Count);
        Assert.True(flushes >= 3, $"{flushes} flushes");
        foreach ((ushort port, byte[] frame, _) in Forwarded(sent))
        {
            Assert.Equal(client, port);
            var arp = (ArpPacket)Pipeline.Frames.Parse(frame).PayloadPacket;
            Assert.Equal(ArpOperation.Response, arp.Operation);
        }

        // The loop polls the graph: the unresolved next hop of the test node's route was asked for on the uplink.
        Assert.Contains(sent, static s => (s.Flags & PacketFlags.Originated) != 0 && (s.Flags & PacketFlags.Arp) != 0);

        // Frames are stamped with the monotonic pipeline clock.
        Assert.All(stamps, t => Assert.InRange(t, before, after));
        Assert.Equal(Frames, worker.Graph.PortCounters[client].RxPackets);
        Assert.Equal(Frames, worker.Graph.PortCounters[client].TxPackets);
    }

    [Fact]
    public void Offload_flags_come_from_the_virtio_header_and_plain_output_gets_the_no_offload_header()
    {
        var dataplane = new NodeDataplane(TestNode.Config());
        ushort client = Port(dataplane, "client");
        const int Header = VirtioNetHeader.LegacySize;
        byte[] request = Pipeline.Frames.ArpRequest(ClientMac, ClientIp, GatewayIp);
        // DATA_VALID only (the other fields dirty): no offload, so the reply the pipeline builds leaves with an all-zero header.
        byte[] framed = [VirtioNetHeader.FlagDataValid, VirtioNetHeader.GsoNone, .. Enumerable.Repeat((byte)0xEE, Header - 2), .. request];
        var inbound = new ConcurrentQueue<(ushort Port, byte[] Frame)>([(client, framed)]);
        var sent = new ConcurrentQueue<(ushort Port, byte[] Frame, PacketFlags Flags)>();
        using var worker = new Worker(0, 1, dataplane, [], [], new CaptureSession?[dataplane.Ports.Count], batchSize: 4, WorkerIo.Syscalls, NullLogger.Instance);
        var thread = new Thread(() =>
        {
            var transport = new QueueTransport(inbound, sent, new ConcurrentQueue<long>(), Header);
            _ = worker.Run(ref transport);
        });
        thread.Start();
        try
        {
            Poll.Until(() => Forwarded(sent).Count > 0, TimeSpan.FromSeconds(10), "the worker to forward the reply");
        }
        finally
        {
            worker.Stop();
            thread.Join();
        }

        (ushort port, byte[] frame, PacketFlags flags) = Assert.Single(Forwarded(sent));
        Assert.Equal(client, port);
        Assert.Equal(PacketFlags.None, flags & (PacketFlags.Offloaded | PacketFlags.ChecksumPartial));
        Assert.Equal(new byte[Header], frame.AsSpan(0, Header).ToArray());
        Assert.Equal(ArpOperation.Response, ((ArpPacket)Pipeline.Frames.Parse(frame[Header..]).PayloadPacket).Operation);
    }

    [Fact]
    public void The_loop_allocates_nothing_per_batch_in_steady_state()
    {
        var dataplane = new NodeDataplane(TestNode.Config());
        var feed = new Feed(Port(dataplane, "client"), Pipeline.Frames.ArpRequest(ClientMac, ClientIp, GatewayIp));
        using var worker = new Worker(0, 1, dataplane, [], [], new CaptureSession?[dataplane.Ports.Count], batchSize: 32, WorkerIo.Syscalls, NullLogger.Instance);
        var thread = new Thread(() =>
        {
            var transport = new FeedTransport(feed);
            _ = worker.Run(ref transport);
        });
        thread.Start();
        try
        {
            // Warm-up (tiering, first sweeps), then a measured run; the transport reads the counter on the worker's thread.
            feed.Push(5_000);
            feed.AwaitSent(5_000);
            feed.Phase = 1;
            feed.Push(20_000);
            feed.AwaitSent(25_000);
            feed.Phase = 2;
            feed.Push(1);
            feed.AwaitSent(25_001);
        }
        finally
        {
            worker.Stop();
            thread.Join();
        }

        Assert.True(feed.AllocatedAtEnd >= 0 && feed.AllocatedAtStart >= 0, "the measurement did not run");
        Assert.Equal(0, feed.AllocatedAtEnd - feed.AllocatedAtStart);
    }

    private static ushort Port(NodeDataplane dataplane, string name) => dataplane.Ports.Single(p => p.Name == name).Id;

    /// <summary>Frames to deliver and frames sent, shared by a test and the worker's thread; nothing is allocated per frame.</summary>
    private sealed class Feed(ushort port, byte[] frame)
    {
        private int _pending;
        private long _sent;

        public ushort Port => port;

        public byte[] Frame => frame;

        /// <summary>0: warm-up; 1: take the start reading at the next receive; 2: take the end reading.</summary>
        public volatile int Phase;

        public long AllocatedAtStart = -1;
        public long AllocatedAtEnd = -1;

        public int Pending => Volatile.Read(ref _pending);

        public void Push(int frames) => Interlocked.Add(ref _pending, frames);

        /// <summary>Only the worker's thread takes, so a positive <see cref="Pending"/> it read is still there.</summary>
        public void TakeOne() => Interlocked.Decrement(ref _pending);

        public void Sent() => Interlocked.Increment(ref _sent);

        public void AwaitSent(long count) =>
            Poll.Until(() => Interlocked.Read(ref _sent) >= count, TimeSpan.FromSeconds(30), $"{count} frames sent");
    }

    /// <summary>Delivers <see cref="Feed"/>'s frame as often as asked, counts what the graph sends, and nothing else.</summary>
    private readonly struct FeedTransport(Feed feed) : IWorkerTransport
    {
        public string? Failure => null;

        public int Wait(long timeoutNanoseconds)
        {
            if (feed.Pending <= 0 && timeoutNanoseconds > 0)
            {
                Thread.Sleep(1);
            }

            return Math.Max(feed.Pending, 0);
        }

        public ReceiveStatus Receive(PacketBatch batch, long now)
        {
            if (feed.Phase == 1 && feed.AllocatedAtStart < 0)
            {
                feed.AllocatedAtStart = GC.GetAllocatedBytesForCurrentThread();
            }
            else if (feed.Phase == 2 && feed.AllocatedAtEnd < 0)
            {
                feed.AllocatedAtEnd = GC.GetAllocatedBytesForCurrentThread();
            }

            bool received = false;
            while (feed.Pending > 0)
            {
                if (batch.IsFull)
                {
                    return ReceiveStatus.BatchFull;
                }

                feed.TakeOne();
                Span<byte> space = batch.NextReceiveSpace(0);
                feed.Frame.CopyTo(space);
                ref PacketMeta meta = ref batch.CommitReceived(feed.Frame.Length, feed.Port, now);
                PortFrames.Received(ref meta, space, 0, capture: null, now);
                received = true;
            }

            return received ? ReceiveStatus.Received : ReceiveStatus.Idle;
        }

        public bool Send(ushort port, PacketBatch batch, ushort packet)
        {
            _ = PortFrames.Outgoing(batch, packet, port, 0, capture: null);
            feed.Sent();
            return true;
        }

        public void Flushed(PacketBatch batch)
        {
        }

        public void PortAdded(PortDevice device, bool owned)
        {
        }

        public void PortRemoved(PortDevice device, bool owned)
        {
        }

        public void Dispose()
        {
        }
    }

    /// <summary>
    /// A transport over queues: Wait reports what is queued (sleeping briefly when nothing is, so Stop is seen),
    /// Receive copies frames into the batch's slots as a read() would, Send records the bytes a write() would get.
    /// </summary>
    private struct QueueTransport(
        ConcurrentQueue<(ushort Port, byte[] Frame)> inbound,
        ConcurrentQueue<(ushort Port, byte[] Frame, PacketFlags Flags)> sent,
        ConcurrentQueue<long> stamps,
        int header,
        ConcurrentQueue<string>? events = null) : IWorkerTransport
    {
        public int Flushes { get; private set; }

        public readonly string? Failure => null;

        public readonly int Wait(long timeoutNanoseconds)
        {
            if (inbound.IsEmpty && timeoutNanoseconds > 0)
            {
                Thread.Sleep(1);
            }

            return inbound.Count;
        }

        public readonly ReceiveStatus Receive(PacketBatch batch, long now)
        {
            bool received = false;
            while (!inbound.IsEmpty)
            {
                if (batch.IsFull)
                {
                    return ReceiveStatus.BatchFull;
                }

                if (!inbound.TryDequeue(out (ushort Port, byte[] Frame) item))
                {
                    break;
                }

                Span<byte> space = batch.NextReceiveSpace(header);
                item.Frame.CopyTo(space);
                ref PacketMeta meta = ref batch.CommitReceived(item.Frame.Length - header, item.Port, now);
                PortFrames.Received(ref meta, space, header, capture: null, now);
                stamps.Enqueue(now);
                received = true;
            }

            return received ? ReceiveStatus.Received : ReceiveStatus.Idle;
        }

        public readonly bool Send(ushort port, PacketBatch batch, ushort packet)
        {
            Span<byte> buffer = PortFrames.Outgoing(batch, packet, port, header, capture: null);
            sent.Enqueue((port, buffer.ToArray(), batch.Meta(packet).Flags));
            if ((batch.Meta(packet).Flags & PacketFlags.Originated) == 0)
            {
                events?.Enqueue($"sent to {port}");
            }

            return true;
        }

        public void Flushed(PacketBatch batch) => Flushes++;

        public readonly void PortAdded(PortDevice device, bool owned)
            => events?.Enqueue($"added {device.Name} owned={owned} on {Environment.CurrentManagedThreadId}");

        public readonly void PortRemoved(PortDevice device, bool owned)
            => events?.Enqueue($"removed {device.Name} owned={owned} on {Environment.CurrentManagedThreadId}");

        public readonly void Dispose()
        {
        }
    }
}
