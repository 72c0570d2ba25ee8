using static Dataplane.Tests.Pipeline.TestNode;

namespace Dataplane.Tests.Pipeline;

/// <summary>Golden cases for ARP: the gateway and uplink answer for themselves, pods' ARP is bridged, malformed ARP is dropped.</summary>
[Trait("Category", "unit")]
public sealed class ArpGoldenTests
{
    private static byte[] ClientAsksForWeb1() => Frames.ArpRequest(ClientMac, ClientIp, Web1Ip);

    private static byte[] Arp(string srcMac, string dstMac, byte[] body) => Build.Raw(srcMac, dstMac, 0x0806, body);

    /// <summary>A request's ARP body with bytes changed.</summary>
    private static byte[] RequestBody(int offset, params byte[] bytes) => Build.Patch(ClientAsksForWeb1()[14..], offset, bytes);

    private static readonly Dictionary<string, GoldenCase> s_cases = new()
    {
        ["arp request for the gateway ip is answered with the gateway mac on the ingress port"] = new("client",
            static () => Frames.ArpRequest(ClientMac, ClientIp, GatewayIp),
            static () => new Output([("client", Frames.ArpReply(GatewayMac, GatewayIp, ClientMac, ClientIp))], ["arp/replies-sent"])),
        ["unicast arp request for the gateway ip (cache refresh) is answered"] = new("web-2",
            static () => Frames.ArpRequest(Web2Mac, Web2Ip, GatewayIp, dstMac: GatewayMac),
            static () => new Output([("web-2", Frames.ArpReply(GatewayMac, GatewayIp, Web2Mac, Web2Ip))], ["arp/replies-sent"])),
        ["padded arp request for the gateway is answered in place, padding kept"] = new("client",
            static () => Build.Pad(Frames.ArpRequest(ClientMac, ClientIp, GatewayIp), 60),
            static () => new Output([("client", Build.Pad(Frames.ArpReply(GatewayMac, GatewayIp, ClientMac, ClientIp), 60))], ["arp/replies-sent"])),
        ["arp probe (sender 0.0.0.0) for the gateway ip is answered to 0.0.0.0"] = new("client",
            static () => Frames.ArpRequest(ClientMac, "0.0.0.0", GatewayIp),
            static () => new Output([("client", Frames.ArpReply(GatewayMac, GatewayIp, ClientMac, "0.0.0.0"))], ["arp/replies-sent"])),
        ["arp request between pods is bridged: flooded unchanged to the other pods"] = new("client",
            static () => ClientAsksForWeb1(),
            static () => new Output([("web-1", ClientAsksForWeb1()), ("web-2", ClientAsksForWeb1())], ["bridge/flooded"])),
        ["arp reply between pods is bridged to the asker only (learned from its request)"] = new("web-1",
            static () => Frames.ArpReply(Web1Mac, Web1Ip, ClientMac, ClientIp),
            static () => new Output(("client", Frames.ArpReply(Web1Mac, Web1Ip, ClientMac, ClientIp))))
        {
            Before = [("client", ClientAsksForWeb1)],
        },
        ["gratuitous arp from a pod is counted and flooded"] = new("web-2",
            static () => Frames.ArpRequest(Web2Mac, Web2Ip, Web2Ip),
            static () => new Output([("web-1", Frames.ArpRequest(Web2Mac, Web2Ip, Web2Ip)), ("client", Frames.ArpRequest(Web2Mac, Web2Ip, Web2Ip))], ["arp/gratuitous-from-pods", "bridge/flooded"])),
        ["mac announced by gratuitous arp is learned: unicast to it is not flooded"] = new("client",
            static () => Frames.Udp4(ClientMac, Web2Mac, ClientIp, Web2Ip, 5000, 6000),
            static () => new Output(("web-2", Frames.Udp4(ClientMac, Web2Mac, ClientIp, Web2Ip, 5000, 6000))))
        {
            Before = [("web-2", static () => Frames.ArpRequest(Web2Mac, Web2Ip, Web2Ip))],
        },
        ["arp sent to the gateway mac that does not ask for the gateway ip is dropped"] = new("client",
            static () => Frames.ArpRequest(ClientMac, ClientIp, Web1Ip, dstMac: GatewayMac), static () => new Dropped("arp", "unexpected-to-gateway")),
        ["arp shorter than 28 bytes is dropped as truncated"] = new("client",
            static () => Arp(ClientMac, "ff:ff:ff:ff:ff:ff", ClientAsksForWeb1()[14..41]), static () => new Dropped("arp-input", "truncated")),
        ["arp for a hardware type other than ethernet is dropped"] = new("client",
            static () => Arp(ClientMac, "ff:ff:ff:ff:ff:ff", RequestBody(0, 0x00, 0x06)), static () => new Dropped("arp-input", "unsupported-format")),
        ["arp for a protocol other than ipv4 is dropped"] = new("client",
            static () => Arp(ClientMac, "ff:ff:ff:ff:ff:ff", RequestBody(2, 0x86, 0xDD)), static () => new Dropped("arp-input", "unsupported-format")),
        ["arp with odd address lengths is dropped"] = new("client",
            static () => Arp(ClientMac, "ff:ff:ff:ff:ff:ff", RequestBody(4, 6, 6)), static () => new Dropped("arp-input", "unsupported-format")),
        ["rarp-style arp operation is dropped"] = new("client",
            static () => Arp(ClientMac, "ff:ff:ff:ff:ff:ff", RequestBody(6, 0x00, 0x03)), static () => new Dropped("arp-input", "unknown-operation")),
        ["arp request on the uplink for the uplink ip is answered with the uplink mac"] = new("uplink",
            static () => Frames.ArpRequest(NodeBMac, NodeBIp, UplinkIp),
            static () => new Output([("uplink", Frames.ArpReply(UplinkMac, UplinkIp, NodeBMac, NodeBIp))], ["arp/replies-sent"])),
        ["arp request on the uplink for the gateway ip is not answered there"] = new("uplink",
            static () => Frames.ArpRequest(NodeBMac, NodeBIp, GatewayIp), static () => new Dropped("arp", "not-for-us")),
        ["arp request on the uplink for another host is dropped"] = new("uplink",
            static () => Frames.ArpRequest(NodeBMac, NodeBIp, "192.168.77.99"), static () => new Dropped("arp", "not-for-us")),
    };

    public static TheoryData<string> Cases => new(s_cases.Keys);

    [Theory]
    [MemberData(nameof(Cases))]
    public void Frame_gets_its_golden_verdict(string description) => Golden.Run(s_cases[description]);
}
