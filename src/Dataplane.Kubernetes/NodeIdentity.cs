using Dataplane.Packets;

namespace Dataplane.Kubernetes;

/// <summary>
/// This node as its Node object describes it: the pod CIDRs the cluster allocated to it (<c>spec.podCIDRs</c>, one
/// per family; <c>spec.podCIDR</c> on clusters that predate the list) and its <c>InternalIP</c> addresses, the first of
/// each family. Null where the object has none (yet): the node-ipam controller allocates pod CIDRs after the node
/// registers.
/// </summary>
public sealed record NodeIdentity(string Name, IpPrefix? PodCidr, IpPrefix? PodCidrV6, Ip4Address? InternalIp, Ip6Address? InternalIpV6);
