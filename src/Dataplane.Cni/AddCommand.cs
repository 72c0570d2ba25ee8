using Dataplane.Protocol;

namespace Dataplane.Cni;

/// <summary>
/// ADD: addresses from IPAM, the pod's interface from the daemon (pod-add: TAP, moved into CNI_NETNS as CNI_IFNAME,
/// MAC, MTU, addresses, routes), then the result. Once IPAM gave an address, any failure releases it again (IPAM DEL)
/// before the error goes out, and a pod-add that may have half happened is undone (pod-del), so a failed ADD holds
/// nothing. A failed IPAM ADD is not followed by IPAM DEL, as in the bridge and ptp plugins: the IPAM plugin rolls back
/// its own failure (host-local does), and the usual cause, a second ADD of a live attachment (host-local: "duplicate
/// allocation is not allowed"), would have the DEL release the address the live pod still uses.
/// </summary>
internal static class AddCommand
{
    public static CniResult Run(CniInvocation cni)
    {
        CniEnvironment env = cni.Environment;
        EnsureNetnsExists(env.Netns!);

        string ipamConfig = cni.Ipam.ConfigFor(cni.Conf);
        CniResult ipam = cni.Ipam.Add(ipamConfig);
        bool podMayExist = false;
        try
        {
            if (ipam.Ips is not { Count: > 0 })
            {
                throw new CniException(CniErrorCode.IpamFailed, $"IPAM plugin {cni.Ipam.Type} returned no IP address");
            }

            var pod = new PodRequest
            {
                ContainerId = env.ContainerId,
                IfName = env.IfName!,
                Netns = env.Netns,
                Name = env.PodName,
                Ips = ipam.Ips.Select(static ip => new PodAddress(ip.Address, ip.Gateway)).ToList(),
                Routes = PodRoutes.ForDaemon(ipam) is { Count: > 0 } routes ? routes : null,
                Mtu = cni.Conf.Mtu,
                Mac = cni.Conf.RuntimeConfig?.Mac,
            };

            ControlResponse response;
            try
            {
                podMayExist = true;
                response = cni.Daemon.Send(new ControlRequest { Command = "pod-add", Pod = pod }, cni.Timeouts.Pod);
            }
            catch (DaemonUnreachableException e)
            {
                podMayExist = false;
                throw new CniException(CniErrorCode.TryAgainLater, $"{e.Message}: is `dataplane run` up on this node?");
            }

            if (!response.Ok)
            {
                // A refusal is all or nothing on the daemon's side: nothing was created.
                podMayExist = false;
                throw new CniException(CniErrorCode.DaemonRefused, $"the dataplane refused pod-add: {response.Error ?? "no reason given"}");
            }

            PodInfo added = cni.Daemon.ResultAs(response, ProtocolJson.Default.PodInfo, "pod-add");
            return AddResult.Build(cni.Conf, env, ipam, added);
        }
        catch
        {
            Undo(cni, ipamConfig, podMayExist);
            throw;
        }
    }

    /// <summary>
    /// ADD with a CNI_NETNS that names nothing: error 4, since the spec's code for "invalid necessary environment
    /// variables ... must contain the names" fits a reference that refers to nothing (not 7: the network config is fine;
    /// not 3: that code tells the runtime no cleanup is needed, which it cannot know). Checked before IPAM runs, so no
    /// address is taken for a pod that cannot get an interface.
    /// </summary>
    private static void EnsureNetnsExists(string netns)
    {
        // A path (/var/run/netns/cni-..., /proc/PID/ns/net) or, as the daemon also accepts, a name under /var/run/netns.
        string path = netns.StartsWith('/') ? netns : Path.Combine("/var/run/netns", netns);
        if (!File.Exists(path))
        {
            throw new CniException(CniErrorCode.InvalidEnvironment, $"{CniEnvironment.NetnsVariable} \"{netns}\" does not exist (no file at {path})");
        }
    }

    /// <summary>The cleanup of a failed ADD; what fails here is only noted, the ADD's own error is what the runtime gets.</summary>
    private static void Undo(CniInvocation cni, string ipamConfig, bool podMayExist)
    {
        if (podMayExist)
        {
            try
            {
                var pod = new PodRequest { ContainerId = cni.Environment.ContainerId, IfName = cni.Environment.IfName!, Netns = cni.Environment.Netns };
                cni.Daemon.Send(new ControlRequest { Command = "pod-del", Pod = pod }, cni.Timeouts.Pod);
            }
            catch (IOException e)
            {
                cni.Note($"removing the half-added pod failed too: {e.Message}");
            }
        }

        cni.Ipam.ReleaseAfterFailedAdd(ipamConfig);
    }
}
