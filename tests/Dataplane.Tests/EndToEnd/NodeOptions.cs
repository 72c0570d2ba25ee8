namespace Dataplane.Tests.EndToEnd;

/// <summary>What a <see cref="NodeUnderTest"/> runs: its pods, services and whether it has an uplink.</summary>
public sealed record NodeOptions
{
    /// <summary>Pod names, in config order; pod i gets 10.244.1.(11 + i) and MAC 02:00:0a:f4:01:(11 + i).</summary>
    public IReadOnlyList<string> Pods { get; init; } = ["a", "b"];

    /// <summary>
    /// Pods whose namespace the test creates before the daemon starts (and passes as <c>netns</c>): the daemon
    /// must use it and leave it behind. The other pods get a fresh unique namespace name the daemon creates.
    /// </summary>
    public IReadOnlySet<string> PreexistingNamespaces { get; init; } = new HashSet<string>();

    /// <summary>The <c>services:</c> list items (YAML, each starting with "  - name:"), or empty for none.</summary>
    public string Services { get; init; } = "";

    /// <summary>
    /// A veth pair to a second namespace playing node-b: 192.168.77.11/24 on its end, a node-b pod address
    /// (<see cref="NodeUnderTest.RemotePodIp"/>) on its lo, and a route back to our pod CIDR via our uplink IP.
    /// </summary>
    public bool Uplink { get; init; }

    /// <summary>`dataplane: { offloads: ... }`: virtio-net header with TSO and checksum offload on TAPs and uplink.</summary>
    public bool Offloads { get; init; } = true;

    /// <summary>`dataplane: { io: ... }`: "syscalls" or "uring"; null leaves the key out (the default).</summary>
    public string? Io { get; init; }

    /// <summary>Extra environment variables for the daemon process (e.g. DATAPLANE_DPURING to hide the io_uring shim).</summary>
    public IReadOnlyDictionary<string, string> Environment { get; init; } = new Dictionary<string, string>();

    /// <summary>`dataplane: { workers: N }`: forwarding threads; pods are dealt to them in config order.</summary>
    public int Workers { get; init; } = 1;

    /// <summary>More `routes:` items (YAML flow mappings such as "{ cidr: 10.244.3.0/24, via: 192.168.77.99 }"); needs <see cref="Uplink"/>.</summary>
    public IReadOnlyList<string> ExtraRoutes { get; init; } = [];

    /// <summary>An IPv6 pod network too (<see cref="NodeUnderTest.PodCidrV6"/>, gateway <see cref="NodeUnderTest.GatewayIpV6"/>): dual-stack pods.</summary>
    public bool Ipv6 { get; init; }

    /// <summary>
    /// The uplink interface's own (kernel) MAC is the dataplane's uplink MAC, as for a container's eth0 under
    /// docker-compose: frames for the node's address then reach the node's kernel on that interface too.
    /// </summary>
    public bool UplinkInterfaceHasUplinkMac { get; init; }

    /// <summary>More keys of the `node:` section, as YAML lines indented by two spaces (e.g. "  masquerade: { enabled: false }").</summary>
    public IReadOnlyList<string> NodeExtra { get; init; } = [];

    /// <summary>`conntrack: { maxEntries: N }`: the table's size.</summary>
    public int ConntrackMaxEntries { get; init; } = 65536;

    /// <summary>More keys of the `conntrack:` section, as YAML lines indented by two spaces (e.g. "  perPod: { burst: 10 }").</summary>
    public IReadOnlyList<string> ConntrackExtra { get; init; } = [];

    /// <summary>More keys of the `dataplane:` section, as YAML lines indented by two spaces (e.g. "  controlIdleTimeoutSeconds: 1").</summary>
    public IReadOnlyList<string> DataplaneExtra { get; init; } = [];

    /// <summary>Extra arguments for `dataplane run` (e.g. --metrics-address, --log-format json).</summary>
    public IReadOnlyList<string> RunArguments { get; init; } = [];

    /// <summary>Whether <see cref="NodeUnderTest.Start"/> waits until `ctl status` answers (false: returns once launched, for stops during start-up).</summary>
    public bool WaitUntilServing { get; init; } = true;

    /// <summary>Write node.yaml's <c>routes:</c> (to node-b, and <see cref="ExtraRoutes"/>); off when the routes come from the cluster's Nodes.</summary>
    public bool StaticRoutes { get; init; } = true;

    /// <summary>The node's name (unique by default): a test that must name it elsewhere first, as a Node object, chooses it.</summary>
    public string? Name { get; init; }

    /// <summary>`node.hostPort: { name: dp-host }`: the node kernel's TAP (needs <see cref="Uplink"/>).</summary>
    public bool HostPort { get; init; }

    /// <summary>`node.uplink.gateway`: the default route's next hop on the uplink (e.g. node-b's 192.168.77.11), or null.</summary>
    public string? UplinkGateway { get; init; }

    /// <summary>The route to node-b's pods (a YAML flow mapping) instead of the host-gw one via node-b's uplink IP; needs <see cref="Uplink"/>.</summary>
    public string? RemoteRoute { get; init; }
}
