using System.Diagnostics.CodeAnalysis;
using System.Runtime.InteropServices;
using Dataplane.Pipeline;
using PacketDotNet;
using SharpPcap;
using SharpPcap.LibPcap;

namespace Dataplane.Io.Pcap;

/// <summary>
/// A pcap-filter(7) expression (`tcp port 80 and host 10.244.1.12`, tcpdump's language) compiled by libpcap into
/// a BPF program for Ethernet frames, for `ctl trace --filter` and `ctl capture --filter`.
/// </summary>
/// <remarks>
/// Matching calls libpcap's pcap_offline_filter through <see cref="BpfProgram.Matches(IntPtr, IntPtr)"/> with a
/// pcap_pkthdr on the stack and the frame pinned by <c>fixed</c>: nothing is allocated per frame. (SharpPcap's
/// <c>Matches(ReadOnlySpan&lt;byte&gt;)</c> allocates a PcapHeader and an unmanaged copy of it per call.) The
/// program is only read while matching, so workers share one.
/// </remarks>
public sealed class PcapFilter : IFrameFilter, IDisposable
{
    private readonly BpfProgram _program;

    private PcapFilter(string expression, BpfProgram program)
    {
        Expression = expression;
        _program = program;
    }

    public string Expression { get; }

    /// <summary>Compiles <paramref name="expression"/>; on failure <paramref name="error"/> is libpcap's message.</summary>
    public static bool TryCompile(string expression, [NotNullWhen(true)] out PcapFilter? filter, [NotNullWhen(false)] out string? error)
    {
        filter = null;
        try
        {
            BpfProgram program = BpfProgram.Create(LinkLayers.Ethernet, expression);
            filter = new PcapFilter(expression, program);
            error = null;
            return true;
        }
        catch (PcapException e)
        {
            error = $"filter '{expression}' does not compile: {e.Message}";
            return false;
        }
        catch (DllNotFoundException e)
        {
            error = $"libpcap is not installed (Debian: apt-get install libpcap0.8), so filters cannot be compiled: {e.Message}";
            return false;
        }
    }

    public unsafe bool Matches(ReadOnlySpan<byte> frame)
    {
        var header = new pcap_pkthdr((uint)frame.Length, (uint)frame.Length);
        fixed (byte* data = frame)
        {
            return _program.Matches((nint)(&header), (nint)data);
        }
    }

    public void Dispose() => _program.Dispose();

    // struct pcap_pkthdr from <pcap/pcap.h> (Linux: struct timeval is two longs). BPF reads only the lengths.
    [StructLayout(LayoutKind.Sequential)]
    private readonly struct pcap_pkthdr(uint caplen, uint len)
    {
        public readonly nint tv_sec = 0;
        public readonly nint tv_usec = 0;
        public readonly uint caplen = caplen;
        public readonly uint len = len;
    }
}
