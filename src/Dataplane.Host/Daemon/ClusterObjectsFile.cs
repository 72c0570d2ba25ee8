using Dataplane.Config;
using Dataplane.Kubernetes;
using Microsoft.Extensions.Logging;

namespace Dataplane.Daemon;

/// <summary>
/// An objects file (<c>--objects</c>: what <c>kubectl get svc,endpointslices,nodes -A -o yaml</c> prints) for
/// <c>run</c> and <c>replay</c>: read with every problem reported as <c>file:line:col</c>, and this node's own Node in it
/// turned into what node.yaml may leave out.
/// </summary>
public static class ClusterObjectsFile
{
    /// <summary>The file's objects, or null after logging its errors (its warnings are logged too).</summary>
    public static ClusterObjects? Read(string path, ILogger logger)
    {
        ObjectsFileResult result = ObjectsFile.Read(path);
        foreach (ObjectsFileProblem warning in result.Warnings)
        {
            logger.LogWarning("{Warning}", warning);
        }

        foreach (ObjectsFileProblem error in result.Errors)
        {
            logger.LogError("{Error}", error);
        }

        return result.Succeeded ? result.Objects : null;
    }

    /// <summary>This node's name and pod CIDRs as its Node object in <paramref name="objects"/> gives them; null when it has none.</summary>
    public static ClusterNodeIdentity? Identity(ClusterObjects objects, string nodeName)
    {
        foreach (k8s.Models.V1Node node in objects.Nodes)
        {
            if (node.Metadata?.Name == nodeName)
            {
                NodeIdentity identity = NodeTranslator.Identity(node, []);
                return new ClusterNodeIdentity(nodeName, identity.PodCidr, identity.PodCidrV6);
            }
        }

        return null;
    }
}
