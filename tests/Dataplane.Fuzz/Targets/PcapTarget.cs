using Dataplane.Io.Pcap;
using Dataplane.Packets;
using Dataplane.Replay;

namespace Dataplane.Fuzz.Targets;

/// <summary>
/// A capture file read as `dataplane replay` reads it: <see cref="PcapFiles.TryOpen"/> picks the pcap or pcapng reader
/// by the magic, then a <see cref="PcapReplaySource"/> turns every record into an Ethernet frame on a port (cooked
/// SLL and SLL2 records included). A corrupt file must end in an error value, never an exception; every record
/// must lie on an interface the file described and come from bytes the file holds.
/// </summary>
public static class PcapTarget
{
    private static long s_files;

    public static void Run(byte[] input)
    {
        // The readers take a path: the input goes to a file of its own (tmpfs when there is one), removed after.
        string directory = Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath();
        string path = Path.Combine(directory, $"dataplane-fuzz-{Environment.ProcessId}-{Interlocked.Increment(ref s_files)}.pcap");
        File.WriteAllBytes(path, input);
        try
        {
            ReadAll(path, input.Length);
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static void ReadAll(string path, int fileLength)
    {
        if (!PcapFiles.TryOpen(path, out IPcapSource? source, out _))
        {
            return;
        }

        // Every interface on port 0, by name or by the SLL2 interface index 1: all records are replayed.
        var file = new ReplayFile(source, DefaultPort: 0, new Dictionary<string, ushort>(), new Dictionary<int, ushort> { [1] = 0 });
        using var replay = new PcapReplaySource([file], [new PortMacs(new MacAddress(0x0200_0000_00FEUL), new MacAddress(0x0200_0000_0101UL))]);
        long frames = 0;
        while (replay.TryRead(out ushort port, out _, out ReadOnlySpan<byte> frame))
        {
            frames++;
            // Cooked records become Ethernet by swapping their 16- or 20-byte header for a 14-byte one: never longer.
            if (port != 0 || frame.Length > fileLength)
            {
                throw new FuzzInvariantException($"frame {frames}: port {port}, {frame.Length} bytes");
            }

            // A record takes at least its 16-byte header in a file: more records than that means one was read twice.
            if (frames > fileLength / 16)
            {
                throw new FuzzInvariantException($"{frames} frames from a file of {fileLength} bytes");
            }
        }

        if (replay.Failure is null && source.Failure is not null)
        {
            throw new FuzzInvariantException($"the reader failed ({source.Failure}) but the replay source did not say so");
        }
    }
}
