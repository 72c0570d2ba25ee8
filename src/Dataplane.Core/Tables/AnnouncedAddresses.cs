using Dataplane.Model;
using Dataplane.Packets;

namespace Dataplane.Tables;

/// <summary>
/// Service addresses the node answers ARP and neighbor solicitations for on the uplink (node.announceExternalIps):
/// every externalIP and load-balancer IP of the node's services, as MetalLB's L2 mode announces them, so clients on
/// the uplink's network reach them with no router configured. Published copy-on-write by the service controller
/// (one reference write per service change); the ARP and NDP stages read it with no lock: a binary search over a
/// sorted array, per request.
/// </summary>
public sealed class AnnouncedAddresses
{
    private Snapshot _current = new([], []);

    /// <summary>Off: <see cref="Publish"/> keeps it empty.</summary>
    public AnnouncedAddresses(bool enabled) => Enabled = enabled;

    public bool Enabled { get; }

    public int Count
    {
        get
        {
            Snapshot current = Volatile.Read(ref _current);
            return current.V4.Length + current.V6.Length;
        }
    }

    public bool Contains(Ip4Address address) => Array.BinarySearch(Volatile.Read(ref _current).V4, address.Value) >= 0;

    public bool Contains(Ip6Address address) => Array.BinarySearch(Volatile.Read(ref _current).V6, address.ToUInt128()) >= 0;

    /// <summary>Replaces the set with the external and load-balancer IPs of <paramref name="services"/> (control plane).</summary>
    public void Publish(IEnumerable<ServiceConfig> services)
    {
        if (!Enabled)
        {
            return;
        }

        var v4 = new SortedSet<uint>();
        var v6 = new SortedSet<UInt128>();
        foreach (ServiceConfig service in services)
        {
            foreach (IpAddress ip in (IEnumerable<IpAddress>)[.. service.Exposure.ExternalIps, .. service.Exposure.LoadBalancerIps])
            {
                if (ip.IsV4)
                {
                    v4.Add(ip.V4.Value);
                }
                else
                {
                    v6.Add(ip.V6.ToUInt128());
                }
            }
        }

        Volatile.Write(ref _current, new Snapshot([.. v4], [.. v6]));
    }

    private sealed record Snapshot(uint[] V4, UInt128[] V6);
}
