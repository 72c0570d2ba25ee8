using Dataplane.Protocol;
using Dataplane.Daemon;
using Dataplane.Io.Pcap;
using Dataplane.Tests.Pipeline;
using static Dataplane.Tests.Pipeline.TestNode;

namespace Dataplane.Tests.Io;

/// <summary>What `ctl capture` writes, read back by tshark and by our readers: classic pcap, and pcapng with an interface per port.</summary>
[Trait("Category", "unit")]
public sealed class CaptureWriterTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static byte[][] Frames3() =>
    [
        Frames.Udp4(ClientMac, GatewayMac, ClientIp, Web1Ip, 5000, 6000),
        Frames.Tcp4(ClientMac, GatewayMac, ClientIp, Vip, 40000, 80, syn: true),
        Frames.Icmp4Echo(ClientMac, GatewayMac, ClientIp, GatewayIp, payload: 33),
    ];

    [Fact]
    public void Pcapng_has_one_interface_per_port_named_after_it_as_tshark_reads_it()
    {
        string path = _dir.File("all.pcapng");
        byte[][] frames = Frames3();
        using (var file = File.Create(path))
        using (var writer = new PcapNgStreamWriter(file, ["client", "web-1", "uplink"], ownsStream: false))
        {
            writer.Write(2, frames[0], PipelineHarness.T0 + 1);
            writer.Write(0, frames[1], PipelineHarness.T0 + 2_000);
            writer.Write(1, frames[2], PipelineHarness.T0 + 3_000_000);
        }

        (int exit, string stdout, string stderr) = ReplayFiles.RunTshark("-r", path, "-T", "fields", "-E", "separator=,", "-e", "frame.interface_name", "-e", "frame.len", "-e", "frame.time_epoch");
        Assert.True(exit == 0, stderr);
        Assert.Equal(
            [$"uplink,{frames[0].Length},1767225600.000000001", $"client,{frames[1].Length},1767225600.000002000", $"web-1,{frames[2].Length},1767225600.003000000"],
            stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));

        Assert.True(PcapFiles.TryOpen(path, out IPcapSource? source, out PcapFileError? error), error?.ToString());
        using (source)
        {
            Assert.Equal(["client", "web-1", "uplink"], source.Interfaces.Select(static i => i.Name));
            int[] order = [2, 0, 1];
            for (int i = 0; i < 3; i++)
            {
                Assert.True(source.TryReadNext(out PcapRecord record));
                Assert.Equal(order[i], record.Interface);
                Assert.Equal(frames[i], record.Frame.ToArray());
            }

            Assert.False(source.TryReadNext(out _));
            Assert.Null(source.Failure);
        }
    }

    [Fact]
    public void Classic_pcap_stream_through_capture_chunks_reads_back_identically()
    {
        byte[][] frames = Frames3();
        var socket = new MemoryStream();
        var chunks = new CaptureStream.ChunkWriter(socket);
        using (var writer = new PcapStreamWriter(chunks, ownsStream: false))
        {
            for (int i = 0; i < frames.Length; i++)
            {
                writer.Write(0, frames[i], PipelineHarness.T0 + i);
                writer.Flush();
            }
        }

        chunks.Finish(new ControlResponse(true, null, "done"), Dataplane.Replay.ReplayRun.JsonOptions);
        socket.Position = 0;
        string path = _dir.File("stream.pcap");
        using (var file = File.Create(path))
        using (System.Text.Json.JsonDocument response = CaptureStream.ReceiveAsync(socket, file, CancellationToken.None).GetAwaiter().GetResult())
        {
            Assert.Equal("done", response.RootElement.GetProperty("result").GetString());
        }

        List<(long Timestamp, byte[] Frame)> read = ReplayFiles.ReadPcap(path);
        Assert.Equal(frames, read.Select(static r => r.Frame));
        Assert.Equal([PipelineHarness.T0, PipelineHarness.T0 + 1, PipelineHarness.T0 + 2], read.Select(static r => r.Timestamp));
        (int exit, string stdout, string stderr) = ReplayFiles.RunTshark("-r", path, "-T", "fields", "-e", "ip.dst");
        Assert.True(exit == 0, stderr);
        Assert.Equal([Web1Ip, Vip, GatewayIp], stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public void Capture_session_with_a_filter_keeps_only_matching_frames()
    {
        Assert.True(PcapFilter.TryCompile("tcp", out PcapFilter? filter, out string? error), error);
        var buffer = new MemoryStream();
        var session = new CaptureSession(new PcapStreamWriter(buffer, ownsStream: false), maxPackets: 2, filter);
        byte[][] frames = Frames3();
        foreach (byte[] frame in frames.Concat(frames).Concat(frames))
        {
            session.Offer(0, frame, PipelineHarness.T0);
        }

        Assert.True(session.IsComplete);
        session.Dispose();
        filter.Dispose();
        Assert.Equal(2, session.Written);
        Assert.Equal(24 + (2 * (16 + frames[1].Length)), buffer.Length);
    }
}
