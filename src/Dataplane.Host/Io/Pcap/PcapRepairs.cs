namespace Dataplane.Io.Pcap;

/// <summary>
/// Records a reader accepted although they break the format's rules, following libpcap (sf-pcap.c,
/// pcap_next_packet), which tcpdump and Wireshark also follow. Reported in replay's summary.json.
/// </summary>
/// <param name="TruncatedToSnaplen">Captured length beyond the file's (or interface's) snaplen: read cut to the snaplen.</param>
/// <param name="CaplenOverLen">Captured length beyond the original length: read as it is.</param>
public readonly record struct PcapRepairs(long TruncatedToSnaplen, long CaplenOverLen)
{
    public static PcapRepairs operator +(PcapRepairs a, PcapRepairs b) => new(a.TruncatedToSnaplen + b.TruncatedToSnaplen, a.CaplenOverLen + b.CaplenOverLen);
}
