using System.Net;
using System.Net.Sockets;
using System.Runtime.Versioning;
using Dataplane.Tests.Infrastructure;

namespace Dataplane.Tests.EndToEnd;

/// <summary>
/// A host port on a node whose uplink interface carries the dataplane's own uplink MAC (a container's eth0, as
/// docker-compose runs the daemon): the node's kernel, which holds the node's address on the host port, sees the
/// frames for that address arrive on the uplink too and, left alone, answers NodePort and masqueraded traffic with
/// resets. The daemon's reverse-path filter on the uplink keeps it out; the dataplane serves both.
/// </summary>
[SupportedOSPlatform("linux")]
[Trait("Category", "e2e")]
public sealed class HostPortSameMacTests
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(20);

    [RootFact]
    public async Task Node_port_and_masqueraded_connections_are_the_dataplanes_not_the_kernels()
    {
        using NodeUnderTest node = NodeUnderTest.Start(new NodeOptions
        {
            Pods = ["w", "c"],
            Uplink = true,
            HostPort = true,
            UplinkInterfaceHasUplinkMac = true,
            Services = """
                  - name: web
                    type: NodePort
                    clusterIP: 10.96.3.10
                    ports: [ { port: 80, targetPort: 8080, nodePort: 30080 } ]
                    endpoints: [ { ip: 10.244.1.11 } ]
                """,
        });
        using var server = new NameEchoServer(node, "w", 8080);
        string remote = node.RemoteNamespace!;

        // From node-b's kernel (on the uplink's subnet) to the node port.
        using (Socket socket = node.InNamespace(remote, () => new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp)))
        {
            using var deadline = new CancellationTokenSource(s_timeout);
            await socket.ConnectAsync(new IPEndPoint(IPAddress.Parse(NodeUnderTest.UplinkIp), 30080), deadline.Token);
            string answer = await PodServers.ReadLineAsync(socket, s_timeout);
            Assert.StartsWith($"w {NodeUnderTest.UplinkIp}:", answer, StringComparison.Ordinal);
        }

        // From a pod to a server outside the cluster (node-b's kernel), masqueraded to the node's address.
        using Socket listener = PodServers.Listen(node, remote, 9443, NodeUnderTest.RemoteUplinkIp);
        Task<Socket> accepted = listener.AcceptAsync();
        using Socket client = await PodServers.ConnectAsync(node, "c", NodeUnderTest.RemoteUplinkIp, 9443, s_timeout);
        using Socket peer = await accepted.WaitAsync(s_timeout);
        Assert.Equal(NodeUnderTest.UplinkIp, ((IPEndPoint)peer.RemoteEndPoint!).Address.ToString());
        await peer.SendAsync("ok\n"u8.ToArray());
        Assert.Equal("ok", await PodServers.ReadLineAsync(client, s_timeout));
    }
}
