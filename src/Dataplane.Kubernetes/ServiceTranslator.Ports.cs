using Dataplane.Model;
using k8s.Models;

namespace Dataplane.Kubernetes;

/// <summary>
/// A Service's <c>ports</c>: name, protocol, port and, for NodePort and LoadBalancer services, nodePort. Target ports
/// are not taken from here: kube-proxy takes them from the EndpointSlices (see ServiceTranslator.Endpoints.cs).
/// </summary>
public static partial class ServiceTranslator
{
    /// <summary>
    /// One service port as the EndpointSlices name it: <paramref name="Name"/> ("" when unnamed) and
    /// <paramref name="Protocol"/> (the API's spelling) are what a slice's ports are matched by (kube-proxy's
    /// ServicePortName). <paramref name="TargetPortWithoutEndpoints"/> is what the port's TargetPort says when no
    /// endpoint tells: a numeric <c>targetPort</c>, else the port itself.
    /// </summary>
    private sealed record PortSpec(string Name, string Protocol, L4Protocol L4, ushort Port, ushort TargetPortWithoutEndpoints, ushort? NodePort)
    {
        /// <summary>How a message names the port: <c>named 'http' (TCP)</c>.</summary>
        public string Describe() => Name.Length > 0 ? $"named '{Name}' ({Protocol})" : $"without a name ({Protocol})";
    }

    private static List<PortSpec> Ports(V1ServiceSpec spec, ServiceType type, ObjectWarningCollector warn)
    {
        var ports = new List<PortSpec>();
        if (spec.Ports is not { Count: > 0 } given)
        {
            warn.Add("has no ports: not served (a Service needs at least one)");
            return ports;
        }

        foreach (V1ServicePort port in given)
        {
            string name = port.Name ?? "";
            string label = name.Length > 0 ? $"port '{name}'" : $"port {port.Port}";

            // The API defaults protocol to TCP; anything but the three it accepts is a file written by hand.
            string protocol = port.Protocol ?? "TCP";
            L4Protocol? l4 = protocol switch
            {
                "TCP" => L4Protocol.Tcp,
                "UDP" => L4Protocol.Udp,
                "SCTP" => L4Protocol.Sctp,
                _ => null,
            };
            if (l4 is null)
            {
                warn.Add($"{label}: protocol '{protocol}' is not TCP, UDP or SCTP; the port is left out");
                continue;
            }

            if (port.Port is < 1 or > 65535)
            {
                warn.Add($"{label}: port {port.Port} is outside 1..65535; the port is left out");
                continue;
            }

            ports.Add(new PortSpec(name, protocol, l4.Value, (ushort)port.Port, FallbackTargetPort(port), NodePort(port, label, type, warn)));
        }

        if (ports.Count == 0)
        {
            warn.Add("has no port left to serve: not served");
        }

        return ports;
    }

    /// <summary>A numeric <c>targetPort</c>; a named one (resolved per pod by the EndpointSlice controller) or none: the port.</summary>
    private static ushort FallbackTargetPort(V1ServicePort port)
        => int.TryParse(port.TargetPort?.Value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int number)
            && number is >= 1 and <= 65535
            ? (ushort)number
            : (ushort)port.Port;

    /// <summary>
    /// <c>nodePort</c> of a NodePort or LoadBalancer service (a ClusterIP service has none to serve). A LoadBalancer
    /// service may have none (<c>allocateLoadBalancerNodePorts: false</c>); a NodePort service always has one from
    /// the API server, so its absence is a hand-written object's mistake.
    /// </summary>
    private static ushort? NodePort(V1ServicePort port, string label, ServiceType type, ObjectWarningCollector warn)
    {
        if (type == ServiceType.ClusterIP)
        {
            return null;
        }

        switch (port.NodePort)
        {
            case null or 0:
                if (type == ServiceType.NodePort)
                {
                    warn.Add($"{label}: no nodePort, which the API server allocates for type NodePort; the port is served on the cluster IP only");
                }

                return null;
            case < 1 or > 65535:
                warn.Add($"{label}: nodePort {port.NodePort} is outside 1..65535; the port is served on the cluster IP only");
                return null;
            default:
                return (ushort)port.NodePort.Value;
        }
    }
}
