using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.Versioning;
using System.Text.Json;
using Dataplane.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Dataplane.Tests.EndToEnd;

/// <summary>
/// Issue 12's flood, for real: one pod sends new UDP flows to a ClusterIP from every source port while another pod
/// opens 20 TCP connections to the same service. Before fair conntrack the flood filled the table and the other
/// pod got 0 of 20 until the flood's entries timed out; now the flooder is held to its share (conntrack.perPod) or,
/// allowed the whole table, early drop gives its unanswered flows' room to the other pod's connections.
/// </summary>
[SupportedOSPlatform("linux")]
[Trait("Category", "e2e")]
public sealed class ConntrackFloodTests(ITestOutputHelper output)
{
    private const string Vip = "10.96.7.10";
    private const int TableEntries = 8192;
    private const int Connections = 20;
    private static readonly TimeSpan s_connectTimeout = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan s_fillTimeout = TimeSpan.FromSeconds(60);

    private const string Services = $$"""
          - name: svc
            clusterIP: {{Vip}}
            ports:
              - { name: web, protocol: TCP, port: 80, targetPort: 8080 }
              - { name: dns, protocol: UDP, port: 53, targetPort: 5353 }
            endpoints: [ { ip: 10.244.1.13 } ]

        """;

    [RootTheory]
    [InlineData("default per-pod share", "")]
    [InlineData("one pod may take the whole table: early drop", "  perPod: { maxEntries: 8192, newFlowsPerSecond: 10000000, burst: 10000000 }")]
    public async Task Another_pods_new_connections_to_a_service_succeed_while_one_pod_floods_new_udp_flows(string setting, string perPod)
    {
        using var node = NodeUnderTest.Start(new NodeOptions
        {
            Pods = ["flooder", "client", "server"],
            Services = Services,
            ConntrackMaxEntries = TableEntries,
            ConntrackExtra = perPod.Length == 0 ? [] : [perPod],
        });
        using var server = new NameEchoServer(node, "server", 8080);
        using Socket raw = node.InNamespace("flooder", () => new Socket(AddressFamily.InterNetwork, SocketType.Raw, ProtocolType.Udp));
        raw.Connect(new IPEndPoint(IPAddress.Parse(Vip), 0));

        using var stop = new CancellationTokenSource();
        long sent = 0;
        var clock = Stopwatch.StartNew();
        var flood = new Thread(() => sent = Flood(raw, stop.Token)) { IsBackground = true, Name = "udp flood" };
        flood.Start();
        int succeeded = 0;
        JsonElement stats;
        try
        {
            // The flood has filled what it may: the table (no fairness), its share, or early drop has begun.
            Poll.Until(() => Refusals(node.CtlJson("stats")) > 0, s_fillTimeout, "the flood to fill the flooder's share of conntrack");

            Task<bool>[] attempts = [.. Enumerable.Range(0, Connections).Select(_ => ConnectAsync(node))];
            foreach (bool ok in await Task.WhenAll(attempts))
            {
                succeeded += ok ? 1 : 0;
            }

            stats = node.CtlJson("stats");
        }
        finally
        {
            stop.Cancel();
            flood.Join();
        }

        double seconds = clock.Elapsed.TotalSeconds;
        JsonElement held = node.CtlJson("conntrack", "--ip", node.Pod("flooder").Ip);
        output.WriteLine(FormattableString.Invariant(
            $"{setting}: flood {sent:N0} packets in {seconds:0.0} s ({sent / seconds:N0}/s offered); flooder holds {held.GetProperty("matched").GetInt32():N0} of {held.GetProperty("total").GetInt32():N0} entries (table {TableEntries:N0}); other pod {succeeded}/{Connections}; conntrack {Counters(stats)}"));

        Assert.Equal(Connections, succeeded);
        if (perPod.Length == 0)
        {
            Assert.True(held.GetProperty("matched").GetInt32() <= TableEntries / 4, $"the flooder holds more than its share: {held}");
            Assert.True(NodeUnderTest.Counter(stats, "conntrack", "pod-entry-limit") > 0, "the flooder never met its entry limit");
        }
        else
        {
            Assert.True(NodeUnderTest.Counter(stats, "conntrack", "early-drop") >= Connections, "the other pod's connections did not take flood flows' room");
        }
    }

    /// <summary>New UDP flows to the VIP's port 53 from every source port in turn, as fast as a raw socket goes.</summary>
    private static long Flood(Socket raw, CancellationToken stop)
    {
        var datagram = new byte[16];
        BinaryPrimitives.WriteUInt16BigEndian(datagram.AsSpan(2), 53);
        BinaryPrimitives.WriteUInt16BigEndian(datagram.AsSpan(4), (ushort)datagram.Length);
        long sent = 0;
        ushort port = 1024;
        while (!stop.IsCancellationRequested)
        {
            BinaryPrimitives.WriteUInt16BigEndian(datagram, port);
            port = port == ushort.MaxValue ? (ushort)1024 : (ushort)(port + 1);
            try
            {
                raw.Send(datagram);
                sent++;
            }
            catch (SocketException ex) when (ex.SocketErrorCode is SocketError.NoBufferSpaceAvailable or SocketError.WouldBlock)
            {
                // The TAP's queue is full: the daemon is behind; the flood goes on.
            }
        }

        return sent;
    }

    /// <summary>One TCP connection from the client pod to the service, answered with the server's greeting.</summary>
    private static async Task<bool> ConnectAsync(NodeUnderTest node)
    {
        try
        {
            using Socket socket = await PodServers.ConnectAsync(node, "client", Vip, 80, s_connectTimeout);
            string line = await PodServers.ReadLineAsync(socket, s_connectTimeout);
            return line.StartsWith("server ", StringComparison.Ordinal);
        }
        catch (Exception ex) when (ex is TimeoutException or SocketException or OperationCanceledException or IOException)
        {
            return false;
        }
    }

    /// <summary>New flows conntrack refused or made room for, whichever counters this build has (table-full only, before fairness).</summary>
    private static long Refusals(JsonElement stats)
    {
        long total = 0;
        foreach (JsonElement s in stats.GetProperty("stages").EnumerateArray())
        {
            if (s.GetProperty("name").GetString() != "conntrack")
            {
                continue;
            }

            foreach ((string group, string name) in (ReadOnlySpan<(string, string)>)[("drops", "table-full"), ("drops", "pod-entry-limit"), ("drops", "pod-rate-limit"), ("events", "early-drop")])
            {
                if (s.GetProperty(group).TryGetProperty(name, out JsonElement value))
                {
                    total += value.GetInt64();
                }
            }
        }

        return total;
    }

    private static string Counters(JsonElement stats)
    {
        var parts = new List<string>();
        foreach (JsonElement s in stats.GetProperty("stages").EnumerateArray())
        {
            if (s.GetProperty("name").GetString() == "conntrack")
            {
                foreach (string group in (string[])["drops", "events"])
                {
                    parts.AddRange(s.GetProperty(group).EnumerateObject().Where(p => p.Value.GetInt64() > 0).Select(p => $"{p.Name} {p.Value.GetInt64():N0}"));
                }
            }
        }

        return string.Join(", ", parts);
    }
}
