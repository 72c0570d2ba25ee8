using Dataplane.Config;
using Dataplane.Model;
using Dataplane.Packets;
using Dataplane.Tables;

namespace Dataplane.Tests.Tables;

/// <summary>Terse builders for service configs in table tests.</summary>
internal static class ServiceConfigs
{
    public static ServiceConfig Service(
        string name,
        string? clusterIp,
        IReadOnlyList<EndpointConfig> endpoints,
        Scheduler scheduler = Scheduler.Maglev,
        SessionAffinity affinity = SessionAffinity.None,
        int affinityTimeoutSeconds = 0,
        IReadOnlyList<ServicePortConfig>? ports = null,
        string? clusterIpV6 = null)
        => new(
            name,
            clusterIp is null ? null : Ip4Address.Parse(clusterIp),
            clusterIpV6 is null ? null : Ip6Address.Parse(clusterIpV6),
            affinity,
            affinityTimeoutSeconds,
            scheduler,
            ports ?? [Tcp(80, 8080)],
            endpoints);

    public static ServicePortConfig Tcp(ushort port, ushort targetPort, string? name = null) => new(name, L4Protocol.Tcp, port, targetPort, null);

    public static ServicePortConfig Udp(ushort port, ushort targetPort, string? name = null) => new(name, L4Protocol.Udp, port, targetPort, null);

    public static EndpointConfig Ep(string ip, int weight = 1, bool terminating = false) => new(IpAddress.Parse(ip), weight, terminating);

    /// <summary>Endpoints 10.244.{group}.1 .. 10.244.{group}.n.</summary>
    public static EndpointConfig[] Endpoints(int n, int group = 1)
    {
        var endpoints = new EndpointConfig[n];
        for (int i = 0; i < n; i++)
        {
            endpoints[i] = Ep($"10.244.{group + i / 250}.{1 + i % 250}");
        }

        return endpoints;
    }

    public static ServiceKey Key(string vip, ushort port, L4Protocol protocol = L4Protocol.Tcp) => new(IpAddress.Parse(vip), protocol, port);

    public static IpAddress Ip(string text) => IpAddress.Parse(text);
}
