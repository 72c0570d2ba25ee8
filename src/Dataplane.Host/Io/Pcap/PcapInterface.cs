namespace Dataplane.Io.Pcap;

/// <summary>
/// One interface a capture file's records were taken on: a pcapng Interface Description Block, or the single
/// implicit interface of a classic pcap file (no name).
/// </summary>
/// <param name="Name">pcapng's if_name option (e.g. "eth0"), or null.</param>
/// <param name="LinkType">How its records start: one of <see cref="LinkTypes"/>.</param>
public sealed record PcapInterface(string? Name, uint LinkType);
