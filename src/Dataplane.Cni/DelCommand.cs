using Dataplane.Protocol;

namespace Dataplane.Cni;

/// <summary>
/// DEL: pod-del, then IPAM DEL. Idempotent and best effort (SPEC.md section 2): an unknown container, a netns that is
/// gone, a missing prevResult and a daemon that is not running (its TAPs died with it) are all success, and IPAM DEL
/// runs in each case. Only when the daemon is up and fails to remove the pod does the address stay held: releasing it
/// while the pod's TAP may still carry it would let IPAM give it to another pod; the runtime retries DEL.
/// </summary>
internal static class DelCommand
{
    public static void Run(CniInvocation cni)
    {
        CniEnvironment env = cni.Environment;
        var pod = new PodRequest { ContainerId = env.ContainerId, IfName = env.IfName!, Netns = env.Netns };
        try
        {
            ControlResponse response = cni.Daemon.Send(new ControlRequest { Command = "pod-del", Pod = pod }, cni.Timeouts.Pod);
            if (!response.Ok)
            {
                throw new CniException(CniErrorCode.DaemonRefused, $"the dataplane failed pod-del: {response.Error ?? "no reason given"} (the address stays held until DEL succeeds)");
            }

            PodDeleteResult deleted = cni.Daemon.ResultAs(response, ProtocolJson.Default.PodDeleteResult, "pod-del");
            if (!deleted.Removed)
            {
                cni.Note($"the dataplane had no pod for container {env.ContainerId} interface {env.IfName}; releasing the address anyway");
            }
        }
        catch (DaemonUnreachableException e)
        {
            cni.Note($"{e.Message}; nothing to remove there (a stopped daemon removed its TAPs); releasing the address");
        }

        // After the daemon's part, so a missing or broken IPAM plugin does not keep the pod's TAP.
        cni.Ipam.Run(CniCommand.Del, cni.Ipam.ConfigFor(cni.Conf));
    }
}
