namespace Dataplane.SideBySide;

/// <summary>
/// What kube-proxy (iptables mode) and the bridge CNI build: the pods' veths on a Linux bridge that is also
/// their gateway, ip_forward on, and a DNAT rule per service port in nat PREROUTING. br_netfilter (on by
/// default in a new namespace when the kernel has it) passes bridged frames through iptables and conntrack, as
/// kube-proxy requires: without it a reply from the server pod would go straight to the client over the bridge,
/// never un-DNATed. Outside traffic as kube-proxy does it: a NodePort per service port (marked, DNATed, masqueraded)
/// and pods' egress masqueraded on the node's address.
/// </summary>
internal sealed class KernelPath(string runId, Tools tools)
    : TestPath("kernel", "kernel: Linux bridge + iptables DNAT", "kernel\nbridge + iptables", runId, tools)
{
    protected override void Build()
    {
        Shell.Run("ip", "-n", NodeNs, "link", "add", "br0", "address", NodeMac, "type", "bridge");
        Shell.Run("ip", "-n", NodeNs, "addr", "add", $"{GatewayIp}/{PrefixLength}", "dev", "br0");
        Shell.Run("ip", "-n", NodeNs, "link", "set", "br0", "up");
        Shell.InNetns(NodeNs, "sysctl", "-qw", "net.ipv4.ip_forward=1", "net.bridge.bridge-nf-call-iptables=1");
        foreach ((string ns, string veth, string mac, string ip) in new[] { (ClientNs, "vcli", ClientMac, ClientIp), (ServerNs, "vsrv", ServerMac, ServerIp) })
        {
            Shell.Run("ip", "-n", NodeNs, "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns);
            Shell.Run("ip", "-n", NodeNs, "link", "set", veth, "master", "br0", "up");
            ConfigurePod(ns, mac, ip, defaultRoute: true);
        }

        foreach (ServicePort port in ServicePorts)
        {
            Shell.InNetns(NodeNs, "iptables", "-w", "-t", "nat", "-A", "PREROUTING", "-d", $"{Vip}/32", "-p", "tcp", "--dport", $"{port.Port}",
                "-j", "DNAT", "--to-destination", $"{ServerIp}:{port.TargetPort}");

            // kube-proxy's NodePort with externalTrafficPolicy: Cluster: mark for masquerade (KUBE-MARK-MASQ), then DNAT.
            Shell.InNetns(NodeNs, "iptables", "-w", "-t", "nat", "-A", "PREROUTING", "-d", $"{NodeIp}/32", "-p", "tcp", "--dport", $"{NodePortOf(port)}",
                "-j", "MARK", "--set-xmark", "0x4000/0x4000");
            Shell.InNetns(NodeNs, "iptables", "-w", "-t", "nat", "-A", "PREROUTING", "-d", $"{NodeIp}/32", "-p", "tcp", "--dport", $"{NodePortOf(port)}",
                "-j", "DNAT", "--to-destination", $"{ServerIp}:{port.TargetPort}");
        }

        // The uplink, as a node has it, and kube-proxy's KUBE-POSTROUTING masquerade of marked packets plus the
        // egress masquerade of pods' traffic leaving the cluster (ip-masq-agent, the bridge CNI's ipMasq).
        Shell.Run("ip", "-n", NodeNs, "addr", "add", $"{NodeIp}/24", "dev", "up0");
        Shell.Run("ip", "-n", NodeNs, "route", "add", OutsideCidr, "via", OutsideLinkIp);
        Shell.InNetns(NodeNs, "iptables", "-w", "-t", "nat", "-A", "POSTROUTING", "-m", "mark", "--mark", "0x4000/0x4000", "-j", "MASQUERADE");
        Shell.InNetns(NodeNs, "iptables", "-w", "-t", "nat", "-A", "POSTROUTING", "-s", "10.244.1.0/24", "!", "-d", "10.244.0.0/16", "-j", "MASQUERADE");
    }

    public override bool HasOutside => true;
}
