using Dataplane.Protocol;

namespace Dataplane.Cni;

/// <summary>
/// CHECK: the attachment still is what prevResult says. The interface and addresses we reported are looked up in
/// prevResult (by CNI_IFNAME and CNI_NETNS, since a later plugin may have added others), the daemon checks the pod
/// against them inside its namespace (pod-check), and IPAM checks its reservation (delegated CHECK).
/// </summary>
internal static class CheckCommand
{
    public static void Run(CniInvocation cni)
    {
        CniEnvironment env = cni.Environment;
        CniResult previous = cni.Conf.PrevResult
            ?? throw new CniException(CniErrorCode.InvalidNetworkConfig, "CHECK needs prevResult (the result of the ADD) in the network config");

        int index = previous.Interfaces?.ToList().FindIndex(i => i.Name == env.IfName && i.Sandbox == env.Netns) ?? -1;
        if (index < 0)
        {
            throw new CniException(CniErrorCode.CheckFailed, $"prevResult lists no interface {env.IfName} in sandbox {env.Netns}, which ADD reports");
        }

        var pod = new PodRequest
        {
            ContainerId = env.ContainerId,
            IfName = env.IfName!,
            Netns = env.Netns,
            Ips = (previous.Ips ?? []).Where(ip => ip.Interface == index).Select(static ip => new PodAddress(ip.Address, ip.Gateway)).ToList(),
        };

        ControlResponse response;
        try
        {
            response = cni.Daemon.Send(new ControlRequest { Command = "pod-check", Pod = pod }, cni.Timeouts.Pod);
        }
        catch (DaemonUnreachableException e)
        {
            throw new CniException(CniErrorCode.TryAgainLater, e.Message);
        }

        if (!response.Ok)
        {
            throw new CniException(CniErrorCode.DaemonRefused, $"the dataplane failed pod-check: {response.Error ?? "no reason given"}");
        }

        PodCheckResult checkResult = cni.Daemon.ResultAs(response, ProtocolJson.Default.PodCheckResult, "pod-check");
        if (checkResult.Problems.Count > 0)
        {
            throw new CniException(CniErrorCode.CheckFailed,
                $"pod {checkResult.Name} ({env.IfName} in {env.Netns}) is not as added: {string.Join("; ", checkResult.Problems)}",
                string.Join("\n", checkResult.Problems));
        }

        cni.Ipam.Run(CniCommand.Check, cni.Ipam.ConfigFor(cni.Conf));
    }
}
