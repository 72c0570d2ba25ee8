using Dataplane.Packets;

namespace Dataplane.Tables;

/// <summary>
/// One endpoint of a service port as the packet path sees it: where to DNAT a new flow.
/// <see cref="StableId"/> names the endpoint for as long as it stays in its service (across every later Apply,
/// and shared by all of the service's ports); ids are never reused, so a late release or a stale affinity entry
/// for a removed endpoint can never land on a different one.
/// </summary>
public readonly record struct Backend(IpAddress Ip, ushort Port, int Weight, bool Terminating, int StableId)
{
    /// <summary>Can take new flows: not terminating (it serves only flows it already has) and weight &gt; 0 (quiesced, as in IPVS).</summary>
    public bool IsEligible => !Terminating && Weight > 0;

    public override string ToString()
        => $"{(Ip.IsV4 ? Ip.ToString() : $"[{Ip}]")}:{Port} w={Weight}{(Terminating ? " terminating" : "")} id={StableId}";
}
