using Dataplane.Config;
using Dataplane.Kubernetes;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace Dataplane.Daemon;

/// <summary>
/// This node's Node object, read before anything is built: its pod CIDRs decide the pods' gateway and routes. At
/// boot the API server may not answer yet, the kubelet may not have registered the node, or the node-ipam controller
/// may not have allocated its CIDRs: each is waited out (1 s doubling to 10 s, said once in the log), as flanneld
/// waits for its node's podCIDR, until the CIDRs appear or the caller gives up.
/// </summary>
public static class ClusterNodeLookup
{
    private static readonly TimeSpan s_firstWait = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan s_longestWait = TimeSpan.FromSeconds(10);

    /// <summary>Waits for <paramref name="nodeName"/>'s pod CIDRs; throws <see cref="OperationCanceledException"/> when <paramref name="cancel"/> fires first.</summary>
    public static async Task<ClusterNodeIdentity> WaitForAsync(IKubernetes client, string nodeName, ILogger logger, CancellationToken cancel)
    {
        ArgumentNullException.ThrowIfNull(client);
        TimeSpan wait = s_firstWait;
        string? lastProblem = null;
        while (true)
        {
            string problem;
            try
            {
                V1Node node = await client.CoreV1.ReadNodeAsync(nodeName, cancellationToken: cancel).ConfigureAwait(false);
                NodeIdentity identity = NodeTranslator.Identity(node, []);
                if (identity.PodCidr is not null || identity.PodCidrV6 is not null)
                {
                    return new ClusterNodeIdentity(nodeName, identity.PodCidr, identity.PodCidrV6);
                }

                problem = $"node {nodeName} has no spec.podCIDRs yet (the controller manager allocates them with --allocate-node-cidrs)";
            }
            catch (k8s.Autorest.HttpOperationException ex) when (ex.Response.StatusCode == System.Net.HttpStatusCode.NotFound)
            {
                problem = $"node {nodeName} is not registered yet (the kubelet creates its Node object)";
            }
            catch (Exception ex) when (ex is k8s.Autorest.HttpOperationException or HttpRequestException or IOException or TimeoutException
                                       or TaskCanceledException && !cancel.IsCancellationRequested)
            {
                problem = $"the API server did not answer: {ApiErrors.Describe(ex)}";
            }

            if (problem != lastProblem)
            {
                logger.LogWarning("{Problem}; waiting", problem);
                lastProblem = problem;
            }

            await Task.Delay(wait, cancel).ConfigureAwait(false);
            wait = TimeSpan.FromTicks(Math.Min(wait.Ticks * 2, s_longestWait.Ticks));
        }
    }
}
