using System.Runtime.Versioning;
using System.Text.Json;
using Dataplane.Kubernetes;
using Dataplane.Tests.Infrastructure;
using Dataplane.Tests.Kubernetes;

namespace Dataplane.Tests.EndToEnd;

/// <summary>
/// A node that learns what it is from the (test double) API server: with only <c>--kubeconfig</c> and
/// <c>--node-name</c> it takes its pod CIDR from its Node object and serves the API's services to pods the runtime
/// adds; with an uplink, the other Nodes become routes (host-gw) that come and go with them.
/// </summary>
[SupportedOSPlatform("linux")]
[Trait("Category", "e2e")]
public sealed class KubernetesNodeEndToEndTests : IDisposable
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(30);
    private readonly string _directory = Directory.CreateTempSubdirectory("dp-k8s-node-").FullName;
    private readonly List<string> _nodes = [];
    private readonly TestNamespaces _namespaces = new();

    public void Dispose()
    {
        _namespaces.Dispose();
        Directory.Delete(_directory, recursive: true);
        foreach (string node in _nodes)
        {
            // The daemons ran on the default state directory; the namespaces went above, their state goes here.
            ProcessRunner.Run(s_timeout, NodeUnderTest.DotnetHost, NodeUnderTest.DataplaneDll, "cleanup", "--node", node).EnsureSuccess();
        }
    }

    [RootFact]
    public async Task A_kubeconfig_and_a_node_name_alone_make_a_node_that_serves_the_apis_services()
    {
        await using FakeApiServer api = await FakeApiServer.StartAsync();
        string name = TestNamespaces.UniqueName();
        api.Upsert(ApiModels.Node(name, "10.244.9.0/24"));
        string socket = $"/run/dataplane/{name}.sock";
        _nodes.Add(name);
        using var daemon = new BackgroundProcess(NodeUnderTest.DotnetHost, NodeUnderTest.DataplaneDll, "run", "--kubeconfig", api.WriteKubeconfig(_directory), "--node-name", name);
        BackgroundProcess? server = null;
        try
        {
            Poll.Until(() => daemon.HasExited || Ctl(socket, "status").ExitCode == 0, s_timeout, "the daemon to answer on its default control socket");
            Assert.False(daemon.HasExited, $"the daemon exited: {daemon.StdOut}{daemon.StdErr}");
            JsonElement status = CtlJson(socket, "status");
            Assert.Equal(name, status.GetProperty("node").GetString());

            string client = _namespaces.NewName(), backend = _namespaces.NewName();
            CtlJson(socket, "pod", "add", "client", "--netns", client, "--ip", "10.244.9.11/24");
            CtlJson(socket, "pod", "add", "backend", "--netns", backend, "--ip", "10.244.9.12/24");
            server = new BackgroundProcess(NodeUnderTest.DotnetHost, NodeUnderTest.DataplaneDll, "pod-server", $"backend@{backend}", "--port", "8080");

            api.Upsert(ApiModels.Service("default", "hello", "10.96.9.10"));
            api.Upsert(ApiModels.Slice("default", "hello", "hello-1", 8080, ("10.244.9.12", ApiModels.Ready)));

            Poll.Until(() => TestNamespaces.Exec(client, "curl", "-s", "--max-time", "2", "http://10.96.9.10/").StdOut.StartsWith("backend", StringComparison.Ordinal),
                s_timeout, "the client pod to reach the API's service through its cluster IP");
            JsonElement after = CtlJson(socket, "status").GetProperty("cluster");
            Assert.True(after.GetProperty("sync").GetProperty("ready").GetBoolean(), $"status: {after}");
            Assert.Equal(1, after.GetProperty("sync").GetProperty("servedServices").GetInt32());
        }
        finally
        {
            server?.Interrupt();
            server?.WaitForExit(s_timeout);
            daemon.Interrupt();
            Assert.Equal(0, daemon.WaitForExit(s_timeout));
            server?.Dispose();
        }

        Assert.False(File.Exists(socket), "the control socket is left behind");
    }

    [RootFact]
    public async Task Other_nodes_become_routes_over_the_uplink_and_go_when_their_node_goes()
    {
        await using FakeApiServer api = await FakeApiServer.StartAsync();
        string name = TestNamespaces.UniqueName();
        api.Upsert(ApiModels.Node(name, NodeUnderTest.PodCidr, NodeUnderTest.UplinkIp));
        using NodeUnderTest node = NodeUnderTest.Start(new NodeOptions
        {
            Name = name,
            Pods = ["a"],
            Uplink = true,
            StaticRoutes = false,
            RunArguments = ["--kubeconfig", api.WriteKubeconfig(_directory), "--node-name", name],
        });

        // No route to node-b's pods until its Node appears.
        Assert.NotEqual(0, node.ExecInPod("a", "ping", "-c", "1", "-W", "1", NodeUnderTest.RemotePodIp).ExitCode);

        api.Upsert(ApiModels.Node("node-b", NodeUnderTest.RemotePodCidr, NodeUnderTest.RemoteUplinkIp));
        Poll.Until(() => node.ExecInPod("a", "ping", "-c", "1", "-W", "1", NodeUnderTest.RemotePodIp).ExitCode == 0,
            s_timeout, $"a pod to reach node-b's pod over the route learned from node-b's Node{Environment.NewLine}{node.DaemonOutput()}");

        // A pod talking to another node's pod keeps its own address (the learned CIDR is inside the cluster).
        Assert.Contains(node.CtlJson("conntrack", "--ip", NodeUnderTest.RemotePodIp).GetProperty("flows").EnumerateArray(),
            static f => !f.TryGetProperty("snat", out JsonElement snat) || snat.ValueKind == JsonValueKind.Null);

        api.Delete(ApiResources.Nodes, null, "node-b");
        Poll.Until(() => node.ExecInPod("a", "ping", "-c", "1", "-W", "1", NodeUnderTest.RemotePodIp).ExitCode != 0,
            s_timeout, "node-b's route to go with its Node");
    }

    [RootFact]
    public async Task An_objects_file_programs_the_node_and_sighup_rereads_it_keeping_the_old_state_when_it_is_broken()
    {
        string name = TestNamespaces.UniqueName();
        string objects = Path.Combine(_directory, "cluster.yaml");
        var nodeObject = ApiModels.Node(name, NodeUnderTest.PodCidr);
        WriteObjects(objects, nodeObject, ApiModels.Service("default", "first", "10.96.6.10"), ApiModels.Slice("default", "first", "first-1", 8080, ("10.244.1.12", ApiModels.Ready)));
        using NodeUnderTest node = NodeUnderTest.Start(new NodeOptions { Name = name, Pods = ["c", "b"], RunArguments = ["--objects", objects, "--node-name", name] });
        using var server = new NameEchoServer(node, "b", 8080);
        // The daemon serves its control socket before it has read the file's objects: wait for them, not for the socket.
        await Until(async () => await Greeting(node, "10.96.6.10") == "b", "the file's service to answer");

        WriteObjects(objects, nodeObject, ApiModels.Service("default", "second", "10.96.6.20"), ApiModels.Slice("default", "second", "second-1", 8080, ("10.244.1.12", ApiModels.Ready)));
        node.Signal("HUP");
        await Until(async () => await Greeting(node, "10.96.6.20") == "b" && await Greeting(node, "10.96.6.10") is null, "SIGHUP to swap first for second");

        await File.WriteAllTextAsync(objects, "apiVersion: v1\nkind: List\nitems: [ { kind: Service\n");
        node.Signal("HUP");
        Poll.Until(() => node.Log.Contains("has errors; still running the objects read before", StringComparison.Ordinal), s_timeout, "the broken file to be reported");
        Assert.Equal("b", await Greeting(node, "10.96.6.20"));
        Assert.False(node.HasExited, node.DaemonOutput());
    }

    [RootFact]
    public void A_kubeconfig_or_objects_file_that_cannot_be_read_is_one_line_exit_2_and_nothing_is_made()
    {
        string missing = Path.Combine(_directory, "no-such-kubeconfig");
        string broken = Path.Combine(_directory, "broken.yaml");
        File.WriteAllText(broken, "apiVersion: v1\nkind: List\nitems: [ { kind: Service\n");
        string name = TestNamespaces.UniqueName();

        ProcessResult kubeconfig = ProcessRunner.Run(s_timeout, NodeUnderTest.DotnetHost, NodeUnderTest.DataplaneDll, "run", "--kubeconfig", missing, "--node-name", name);
        ProcessResult objects = ProcessRunner.Run(s_timeout, NodeUnderTest.DotnetHost, NodeUnderTest.DataplaneDll, "run", "--objects", broken, "--node-name", name);

        Assert.Equal(2, kubeconfig.ExitCode);
        Assert.Equal($"dataplane run: kubeconfig {missing}: no such file", kubeconfig.StdErr.Trim());
        Assert.Equal(2, objects.ExitCode);
        Assert.Matches($@"{System.Text.RegularExpressions.Regex.Escape(broken)}:\d+:\d+: ", objects.StdOut + objects.StdErr);
        Assert.DoesNotContain("   at ", objects.StdOut + objects.StdErr, StringComparison.Ordinal);
        Assert.False(File.Exists($"/run/dataplane/{name}.sock"), "a control socket was made for a node that never started");
    }

    private static void WriteObjects(string path, params object[] objects)
        => File.WriteAllText(path, string.Join("\n---\n", objects.Select(static o => k8s.KubernetesYaml.Serialize(o).TrimEnd())) + "\n");

    private static async Task<string?> Greeting(NodeUnderTest node, string vip)
    {
        try
        {
            using System.Net.Sockets.Socket socket = await PodServers.ConnectAsync(node, "c", vip, 80, TimeSpan.FromSeconds(2));
            return (await PodServers.ReadLineAsync(socket, TimeSpan.FromSeconds(2))).Split(' ')[0];
        }
        catch (Exception ex) when (ex is System.Net.Sockets.SocketException or TimeoutException or OperationCanceledException or IOException)
        {
            return null;
        }
    }

    private static async Task Until(Func<Task<bool>> condition, string what)
    {
        DateTime deadline = DateTime.UtcNow + s_timeout;
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting for {what}");
            await Task.Delay(50);
        }
    }

    private static ProcessResult Ctl(string socket, params string[] args) =>
        ProcessRunner.Run(s_timeout, NodeUnderTest.DotnetHost, [NodeUnderTest.DataplaneDll, "ctl", "--socket", socket, .. args]);

    private static JsonElement CtlJson(string socket, params string[] args)
    {
        ProcessResult result = Ctl(socket, [.. args, "--json"]);
        Assert.True(result.ExitCode == 0, $"ctl {string.Join(' ', args)}: {result.StdErr}{result.StdOut}");
        return JsonDocument.Parse(result.StdOut).RootElement.Clone();
    }
}
