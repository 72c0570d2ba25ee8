using System.Diagnostics;
using Dataplane.Io.Pcap;

namespace Dataplane.Tests.Pipeline;

/// <summary>Capture files, tshark and the `dataplane` CLI for the replay and demo tests.</summary>
internal static class ReplayFiles
{
    public static void WritePcap(string path, IEnumerable<(long Timestamp, byte[] Frame)> frames)
    {
        Assert.True(PcapFileWriter.TryCreate(path, out PcapFileWriter? writer, out PcapFileError? error), error?.ToString());
        using (writer)
        {
            foreach ((long timestamp, byte[] frame) in frames)
            {
                writer.Write(frame, timestamp);
            }
        }
    }

    public static List<(long Timestamp, byte[] Frame)> ReadPcap(string path)
    {
        Assert.True(PcapFiles.TryOpen(path, out IPcapSource? source, out PcapFileError? error), error?.ToString());
        var frames = new List<(long, byte[])>();
        using (source)
        {
            while (source.TryReadNext(out PcapRecord record))
            {
                frames.Add((record.TimestampNanoseconds, record.Frame.ToArray()));
            }

            Assert.Null(source.Failure);
        }

        return frames;
    }

    /// <summary>
    /// Frames of <paramref name="pcap"/> whose IPv4, TCP, UDP, ICMP or ICMPv6 checksum tshark finds bad, one
    /// summary line each: empty when every checksum is right.
    /// </summary>
    public static string TsharkBadChecksums(string pcap)
    {
        (int exit, string stdout, string stderr) = Run(Tshark(), TimeSpan.FromSeconds(60),
            "-r", pcap, "-o", "ip.check_checksum:TRUE", "-o", "tcp.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE",
            "-Y", "ip.checksum.status==\"Bad\" || tcp.checksum.status==\"Bad\" || udp.checksum.status==\"Bad\" || icmp.checksum.status==\"Bad\" || icmpv6.checksum.status==\"Bad\"");
        Assert.True(exit == 0, $"tshark -r {pcap} exited {exit}: {stderr}");
        return stdout;
    }

    /// <summary>Runs tshark with <paramref name="args"/> and returns its exit code and output.</summary>
    public static (int ExitCode, string Stdout, string Stderr) RunTshark(params string[] args) => Run(Tshark(), TimeSpan.FromSeconds(60), args);

    private static string Tshark()
    {
        foreach (string directory in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            string candidate = Path.Combine(directory, "tshark");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        Assert.Fail("tshark is not on PATH: the replay tests check output checksums with it (Debian: apt-get install tshark; CI installs it)");
        return "";
    }

    /// <summary>Runs the built CLI (dataplane.dll, copied next to the test assembly) with the dotnet host running the tests.</summary>
    public static (int ExitCode, string Stdout, string Stderr) Cli(params string[] args)
    {
        string dll = Path.Combine(AppContext.BaseDirectory, "dataplane.dll");
        Assert.True(File.Exists(dll), $"{dll} is missing: the test project references Dataplane.Cli, whose output lands next to the tests");
        string host = Environment.ProcessPath is { } path && Path.GetFileNameWithoutExtension(path) == "dotnet" ? path : "dotnet";
        return Run(host, TimeSpan.FromSeconds(120), [dll, .. args]);
    }

    private static (int ExitCode, string Stdout, string Stderr) Run(string file, TimeSpan deadline, params string[] args)
    {
        var start = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using Process process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {file}");
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(deadline))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"{file} {string.Join(' ', args)} did not finish within {deadline.TotalSeconds} s");
        }

        process.WaitForExit();
        return (process.ExitCode, stdout.Result, stderr.Result);
    }
}
