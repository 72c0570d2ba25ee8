namespace Dataplane.SideBySide;

/// <summary>
/// The I/O ceiling of any TAP-based design: native/tapcopy copies frames between the two pods' TAPs with one
/// read and one write each and no processing. It creates the TAPs in the node namespace; they are moved into
/// the pods as eth0 (its fds stay valid). No gateway and no service: measurements "via the VIP" go pod-to-pod.
/// </summary>
internal sealed class CeilingPath(string runId, Tools tools, bool vnetHeader)
    : TestPath(vnetHeader ? "ceiling-vnet" : "ceiling-plain",
        vnetHeader ? "ceiling: tapcopy, vnet-hdr offloads" : "ceiling: tapcopy, no offloads",
        vnetHeader ? "ceiling (tapcopy)\nvnet-hdr offloads" : "ceiling (tapcopy)\nno offloads", runId, tools)
{
    public override bool HasVip => false;

    protected override void Build()
    {
        string[] taps = ["tapcli", "tapsrv"];
        string[] flags = vnetHeader ? ["--vnet-hdr"] : [];
        Background copy = StartProcess(["ip", "netns", "exec", NodeNs, Tools.TapCopy, .. flags, .. taps]);
        copy.WaitForOutput("ready", TimeSpan.FromSeconds(10));
        foreach ((string tap, string ns, string mac, string ip) in new[] { (taps[0], ClientNs, ClientMac, ClientIp), (taps[1], ServerNs, ServerMac, ServerIp) })
        {
            Shell.Run("ip", "-n", NodeNs, "link", "set", tap, "netns", ns);
            Shell.Run("ip", "-n", ns, "link", "set", tap, "name", "eth0");
            ConfigurePod(ns, mac, ip, defaultRoute: false);
        }
    }
}
