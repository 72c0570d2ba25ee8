using Dataplane.Packets;
using Dataplane.Tables;

namespace Dataplane.Model;

/// <summary>
/// What a <see cref="ServiceConfig"/> must satisfy before the service table takes it, defined once. The config layer
/// reads its YAML keys against these bounds and reports each break as <c>file:line:col: key.path: problem</c>; the
/// service table checks <see cref="Problems"/> again for services handed to it from code, because a duplicate key or
/// endpoint would corrupt its bookkeeping. A valid config never fails here.
/// </summary>
public static class ServiceRules
{
    /// <summary>
    /// The largest endpoint weight the engine takes: IPVS's ceiling, which also keeps leastconn's weight x connections
    /// products far from overflow. Weight 0 is a quiesced endpoint (IPVS's meaning: no new flows). The YAML format
    /// offers a narrower range inside this one (1..256, see Dataplane.Config's NodeConfigParser.MaxWeight): it asks for
    /// <c>terminating: true</c> instead of 0, as an EndpointSlice would say it.
    /// </summary>
    public const int MaxWeight = 65535;

    /// <summary>Endpoints per address family of one service: a Maglev entry indexes them with 16 bits.</summary>
    public const int MaxEndpointsPerFamily = MaglevTable.MaxBackends;

    /// <summary>Service ports (VIP:port/protocol, each family of each port counts once) a node holds.</summary>
    public const int MaxServicePorts = 1 << 16;

    /// <summary>Every rule <paramref name="service"/> breaks, in words; empty when the table can take it.</summary>
    public static List<string> Problems(ServiceConfig service)
    {
        ArgumentNullException.ThrowIfNull(service);
        var problems = new List<string>();
        if (string.IsNullOrEmpty(service.Name))
        {
            problems.Add("service has no name");
            return problems;
        }

        if (!Enum.IsDefined(service.Scheduler))
        {
            problems.Add($"unknown scheduler {service.Scheduler}");
        }

        var seenPorts = new HashSet<(L4Protocol, ushort)>();
        foreach (ServicePortConfig p in service.Ports)
        {
            if (p.Port == 0)
            {
                problems.Add($"port {p.Name} has port 0");
            }

            if (!seenPorts.Add((p.Protocol, p.Port)))
            {
                problems.Add($"port {p.Port}/{p.Protocol} listed twice");
            }
        }

        var seenIps = new HashSet<IpAddress>();
        foreach (EndpointConfig e in service.Endpoints)
        {
            if (!seenIps.Add(e.Ip))
            {
                problems.Add($"endpoint {e.Ip} listed twice");
            }

            if (e.Weight is < 0 or > MaxWeight)
            {
                problems.Add($"endpoint {e.Ip} weight {e.Weight} outside 0..{MaxWeight}");
            }

            if (e.TargetPorts is { } own && (own.Count != service.Ports.Count || own.Contains((ushort)0)))
            {
                problems.Add($"endpoint {e.Ip} has {own.Count} target ports for {service.Ports.Count} service ports (one non-zero port each)");
            }
        }

        (int v4, int v6) = EndpointsPerFamily(service.Endpoints);
        if (Math.Max(v4, v6) > MaxEndpointsPerFamily)
        {
            problems.Add($"{Math.Max(v4, v6)} endpoints in one family; at most {MaxEndpointsPerFamily}");
        }

        return problems;
    }

    /// <summary>How many of <paramref name="endpoints"/> are IPv4 and how many IPv6.</summary>
    public static (int V4, int V6) EndpointsPerFamily(IEnumerable<EndpointConfig> endpoints)
    {
        int v4 = 0;
        int v6 = 0;
        foreach (EndpointConfig e in endpoints)
        {
            v4 += e.Ip.IsV4 ? 1 : 0;
            v6 += e.Ip.IsV4 ? 0 : 1;
        }

        return (v4, v6);
    }
}
