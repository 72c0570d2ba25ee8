using Dataplane.Protocol;

namespace Dataplane.Cni;

/// <summary>
/// The ADD result: the pod interface the daemon made ({name: CNI_IFNAME, mac, sandbox: CNI_NETNS}), IPAM's addresses
/// pointing at it, IPAM's routes plus the defaults the daemon installs, and DNS. After another plugin (prevResult
/// present) everything it reported comes first and stays as it was: our interface is appended, so its index is the
/// count of interfaces before it. A plugin chained after us (tuning, portmap, bandwidth) finds the interface by
/// name and sandbox, as libcni's plugins do.
/// </summary>
internal static class AddResult
{
    public static CniResult Build(NetConf conf, CniEnvironment env, CniResult ipam, PodInfo pod)
    {
        CniResult? previous = conf.PrevResult;
        var interfaces = new List<CniInterface>(previous?.Interfaces ?? [])
        {
            new() { Name = env.IfName!, Mac = pod.Mac, Mtu = pod.Mtu, Sandbox = env.Netns },
        };
        int index = interfaces.Count - 1;

        return new CniResult
        {
            Interfaces = interfaces,
            Ips = [.. previous?.Ips ?? [], .. ipam.Ips!.Select(ip => ip with { Interface = index })],
            Routes = [.. previous?.Routes ?? [], .. PodRoutes.ForResult(ipam)],
            // As the bridge and ptp plugins do: the config's dns when it sets any, else what IPAM said, else what came before.
            Dns = conf.Dns is { IsEmpty: false } ? conf.Dns : ipam.Dns is { IsEmpty: false } ? ipam.Dns : previous?.Dns,
            Extra = previous?.Extra,
        }.ForVersion(conf.CniVersion!);
    }
}
