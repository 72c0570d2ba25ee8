using PacketDotNet;
using static Dataplane.Tests.Pipeline.TestNode;

namespace Dataplane.Tests.Pipeline;

[Trait("Category", "unit")]
public class SmokeTests
{
    [Fact]
    public void Arp_request_for_the_gateway_is_answered_on_the_ingress_port()
    {
        var harness = new PipelineHarness();
        List<Sent> sent = harness.Send("client", Frames.ArpRequest(ClientMac, ClientIp, GatewayIp));
        Sent reply = Assert.Single(sent);
        Assert.Equal("client", reply.Port);
        var arp = (ArpPacket)Frames.Parse(reply.Frame).PayloadPacket;
        Assert.Equal(ArpOperation.Response, arp.Operation);
        Assert.Equal(Frames.Mac(GatewayMac), arp.SenderHardwareAddress);
        Assert.Equal(Frames.Ip(GatewayIp), arp.SenderProtocolAddress);
        Assert.Empty(harness.AllDrops());
    }

    [Fact]
    public void Ping_to_the_gateway_is_answered()
    {
        var harness = new PipelineHarness();
        Sent reply = Assert.Single(harness.Send("client", Frames.Icmp4Echo(ClientMac, GatewayMac, ClientIp, GatewayIp)));
        var ip = (IPv4Packet)Frames.Parse(reply.Frame).PayloadPacket;
        Assert.Equal(Frames.Ip(GatewayIp), ip.SourceAddress);
        Assert.True(ip.ValidIPChecksum);
        var icmp = (IcmpV4Packet)ip.PayloadPacket;
        Assert.Equal(IcmpV4TypeCode.EchoReply, icmp.TypeCode);
        Assert.True(icmp.ValidIcmpChecksum);
    }

    [Fact]
    public void Routed_tcp_syn_to_a_vip_is_dnatted_to_a_backend()
    {
        var harness = new PipelineHarness();
        List<Sent> sent = harness.Send("client", Frames.Tcp4(ClientMac, GatewayMac, ClientIp, Vip, 40000, 80, syn: true));
        Sent output = Assert.Single(sent);
        var ip = (IPv4Packet)Frames.Parse(output.Frame).PayloadPacket;
        var tcp = (TcpPacket)ip.PayloadPacket;
        Assert.Equal(8080, tcp.DestinationPort);
        Assert.True(ip.ValidIPChecksum);
        Assert.True(tcp.ValidTcpChecksum);
        Assert.Contains(ip.DestinationAddress.ToString(), new[] { Web1Ip, RemotePodIp });
        Assert.Equal(ip.DestinationAddress.ToString() == Web1Ip ? "web-1" : "uplink", output.Port);
        Assert.Equal(63, ip.TimeToLive);
    }
}
