using System.Buffers.Binary;
using BenchmarkDotNet.Attributes;
using Dataplane.Io.Pcap;
using SharpPcap;
using SharpPcap.LibPcap;

namespace Dataplane.Benchmarks;

/// <summary>
/// Reading a 100k-packet classic pcap file (microsecond, little-endian: what tcpdump writes) to the end, touching
/// each frame and timestamp as the replay loop does. Results are per packet (OperationsPerInvoke).
/// Run: dotnet run -c Release --project perf/Dataplane.Benchmarks -- --filter '*Pcap*' --job short
/// </summary>
[MemoryDiagnoser]
public class PcapReadBenchmarks
{
    private const int Packets = 100_000;

    private string _path = "";

    [Params(64, 1500)]
    public int FrameLength { get; set; }

    [GlobalSetup]
    public void WriteFile()
    {
        _path = Path.Combine(Path.GetTempPath(), $"pcap-bench-{Environment.ProcessId}-{FrameLength}.pcap");
        using var stream = new FileStream(_path, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 1 << 20);
        Span<byte> header = stackalloc byte[24];
        BinaryPrimitives.WriteUInt32LittleEndian(header, 0xA1B2C3D4);
        BinaryPrimitives.WriteUInt16LittleEndian(header[4..], 2);
        BinaryPrimitives.WriteUInt16LittleEndian(header[6..], 4);
        BinaryPrimitives.WriteUInt32LittleEndian(header[16..], 262144);
        BinaryPrimitives.WriteUInt32LittleEndian(header[20..], 1);
        stream.Write(header);

        byte[] record = new byte[16 + FrameLength];
        for (int i = 0; i < Packets; i++)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(record, 1_700_000_000u + (uint)(i / 1_000_000));
            BinaryPrimitives.WriteUInt32LittleEndian(record.AsSpan(4), (uint)(i % 1_000_000));
            BinaryPrimitives.WriteUInt32LittleEndian(record.AsSpan(8), (uint)FrameLength);
            BinaryPrimitives.WriteUInt32LittleEndian(record.AsSpan(12), (uint)FrameLength);
            record[16] = (byte)i;
            stream.Write(record);
        }
    }

    [GlobalCleanup]
    public void DeleteFile() => File.Delete(_path);

    [Benchmark(Baseline = true, OperationsPerInvoke = Packets)]
    public long PipelinesReader()
    {
        if (!PcapFileReader.TryOpen(_path, out PcapFileReader? reader, out PcapFileError? error))
        {
            throw new InvalidOperationException(error.ToString());
        }
        long sum = 0;
        using (reader)
        {
            while (reader.TryReadNext(out PcapRecord record))
            {
                sum += record.TimestampNanoseconds + record.Frame.Span[0];
            }
        }
        return sum;
    }

    // The classic SharpPcap loop, as in its examples: GetNextPacket and the header's PosixTimeval.
    [Benchmark(OperationsPerInvoke = Packets)]
    public long SharpPcapGetNextPacket()
    {
        using var device = new CaptureFileReaderDevice(_path);
        device.Open(new DeviceConfiguration { TimestampResolution = TimestampResolution.Nanosecond });
        long sum = 0;
        while (device.GetNextPacket(out PacketCapture capture) == GetPacketStatus.PacketRead)
        {
            sum += (long)(capture.Header.Timeval.Value * 1_000_000_000m) + capture.Data[0];
        }
        return sum;
    }

    // Our pcapng fallback (libpcap through GetNextPacketPointers), here on the same classic file.
    [Benchmark(OperationsPerInvoke = Packets)]
    public long SharpPcapFileReaderPointers()
    {
        if (!SharpPcapFileReader.TryOpen(_path, out SharpPcapFileReader? reader, out PcapFileError? error))
        {
            throw new InvalidOperationException(error.ToString());
        }
        long sum = 0;
        using (reader)
        {
            while (reader.TryReadNext(out PcapRecord record))
            {
                sum += record.TimestampNanoseconds + record.Frame.Span[0];
            }
        }
        return sum;
    }
}
