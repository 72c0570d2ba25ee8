using Dataplane.Model;

namespace Dataplane.Kubernetes;

/// <summary>
/// What <see cref="NodeTranslator"/> made of the cluster's Nodes: this node's <see cref="Self"/> (null when its Node
/// object is not among them), the routes to every other node's pod CIDRs, sorted (IPv4 first, then by address), and
/// what was left out.
/// </summary>
public sealed record NodeTranslation(NodeIdentity? Self, IReadOnlyList<RouteConfig> Routes, IReadOnlyList<ObjectWarning> Warnings);
