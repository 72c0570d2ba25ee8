namespace Dataplane.Pipeline;

/// <summary>
/// Chooses frames for `ctl trace --filter` and `ctl capture --filter`. The core only asks the question; the host
/// answers it with a pcap-filter expression compiled by libpcap (tcpdump's language), so the core does not depend
/// on libpcap. Called on worker threads for every received frame while a trace or capture is armed, so an
/// implementation must not allocate and must be safe to call from several workers at once.
/// </summary>
public interface IFrameFilter
{
    /// <summary>Whether <paramref name="frame"/> (starting at its Ethernet header) is selected.</summary>
    bool Matches(ReadOnlySpan<byte> frame);
}
