namespace Dataplane.SideBySide;

/// <summary>
/// Our daemon, `dataplane run --netns NODE`, with the two pods and one ClusterIP service whose ports all point
/// at the server pod: bridging, routing, the service load balancer and conntrack all on the path. The daemon
/// makes the TAPs and the pods' eth0 configuration; the namespaces are ours, so it leaves them to us.
/// <paramref name="io"/> is `dataplane.io`: the default paths (`dataplane`, `dataplane-plain`) leave it out and get
/// the daemon's default; the `-uring` ones ask for io_uring explicitly. <paramref name="scraped"/> (`dataplane-scraped`)
/// is the default path with a Prometheus-style scraper fetching /metrics every second while it is measured, to
/// show what scraping costs forwarding.
/// </summary>
internal sealed class DataplanePath(string runId, Tools tools, string workDir, bool offloads, string? io = null, bool scraped = false)
    : TestPath(Name(offloads, io, scraped), TitleOf(offloads, io, scraped), $"{(io is null ? "dataplane" : $"io {io}")}\noffloads {(offloads ? "on" : "off")}{(scraped ? "\nscraped 1/s" : "")}", runId, tools)
{
    /// <summary>The path keys: dataplane, dataplane-plain, with an explicit io mode dataplane-IO, dataplane-IO-plain, and dataplane-scraped.</summary>
    public static string Name(bool offloads, string? io, bool scraped = false) => "dataplane" + (io is null ? "" : $"-{io}") + (offloads ? "" : "-plain") + (scraped ? "-scraped" : "");

    private static string TitleOf(bool offloads, string? io, bool scraped) =>
        $"dataplane{(io is null ? "" : $" io {io}")}: offloads {(offloads ? "on" : "off")}{(scraped ? ", /metrics scraped every second" : "")}";

    protected override void Build()
    {
        string config = Path.Combine(workDir, $"{Key}.yaml");
        File.WriteAllText(config, Yaml());
        Background daemon = StartProcess("dotnet", Tools.DataplaneDll, "run", "--config", config, "--netns", NodeNs, "--log-level", "Warning");
        // Starting .NET and the daemon takes seconds on a busy machine.
        daemon.WaitUntil(() => PodReady(ClientNs) && PodReady(ServerNs), TimeSpan.FromSeconds(90), "the pods' eth0 from the dataplane");
        if (scraped)
        {
            // The daemon serves /metrics on a Unix socket beside its control socket; Prometheus' default interval is
            // longer, 1 s is the worst case a DaemonSet would be configured with.
            string http = Path.Combine(workDir, $"{Key}.http");
            StartProcess("sh", "-c", $"while :; do curl -s -o /dev/null --unix-socket {http} http://localhost/metrics; sleep 1; done");
        }
    }

    /// <summary>The daemon adds the default route last, once eth0 is up and addressed.</summary>
    private static bool PodReady(string ns) => Shell.Run("ip", "-n", ns, "route", "show", "default").Contains("default", StringComparison.Ordinal);

    public override bool HasOutside => true;

    private string Yaml()
    {
        string ports = string.Join(", ", ServicePorts.Select(p => $"{{ name: {p.Name}, protocol: TCP, port: {p.Port}, targetPort: {p.TargetPort}, nodePort: {NodePortOf(p)} }}"));
        return $$"""
            node:
              name: {{Prefix}}
              podCidr: 10.244.1.0/24
              gatewayIp: {{GatewayIp}}
              mac: {{NodeMac}}
              uplink: { interface: up0, ip: {{NodeIp}}/24, mac: {{NodeUplinkMac}} }
              masquerade: { nonMasqueradeCidrs: [10.244.0.0/16] }
            routes:
              - { cidr: {{OutsideCidr}}, via: {{OutsideLinkIp}} }
            pods:
              - { name: client, ip: {{ClientIp}}, mac: {{ClientMac}}, netns: {{ClientNs}} }
              - { name: server, ip: {{ServerIp}}, mac: {{ServerMac}}, netns: {{ServerNs}} }
            services:
              - name: perf
                type: NodePort
                clusterIP: {{Vip}}
                ports: [ {{ports}} ]
                endpoints: [ { ip: {{ServerIp}} } ]
            dataplane: { offloads: {{(offloads ? "true" : "false")}}, {{(io is null ? "" : $"io: {io}, ")}}controlSocket: {{workDir}}/{{Key}}.sock }
            """;
    }
}
