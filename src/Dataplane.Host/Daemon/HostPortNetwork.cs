using System.Net;
using System.Net.NetworkInformation;
using System.Runtime.ExceptionServices;
using Dataplane.Io.Netns;
using Dataplane.Io.Tap;
using Dataplane.Model;
using Dataplane.Packets;

namespace Dataplane.Daemon;

/// <summary>
/// The host port's kernel side (<c>node.hostPort</c>; Calico/VPP's host tap): a TAP in the node's namespace with the
/// node's addresses (the uplink's, as /32 and /128), the TAP's MAC, the uplink's MTU, and default routes via the
/// link-local next hops <see cref="HostPortConfig.NextHop4"/> (onlink) and <see cref="HostPortConfig.NextHop6"/> that
/// the dataplane answers by proxy ARP / NA, so the kernel hands everything it sends to the dataplane at L3.
/// <para>The uplink interface stays a kernel interface in the same namespace (the dataplane reads it through a packet
/// socket), and Linux answers ARP on any interface for any of its addresses: now that the kernel has the node's IPv4
/// address, it would answer the uplink's neighbours itself with the uplink interface's own MAC and draw their frames
/// away from the dataplane. So the uplink's <c>arp_ignore</c> is set to 8 (answer for no address) while the host port
/// exists, and put back afterwards. IPv6 needs nothing: ND answers only for the receiving interface's addresses.
/// Likewise Linux accepts a packet for any of its addresses on any interface: where the uplink interface's own MAC is
/// the dataplane's uplink MAC (a container's eth0, as docker-compose.yml runs it) the kernel would take node-port and
/// masqueraded traffic off the uplink itself and answer it with resets; <c>rp_filter</c> 1 there makes it drop what
/// arrives on the uplink, since it routes everything through the host port (the packet socket sees the frames
/// before the IP layer, so the dataplane is unaffected; HostPortSameMacTests fails without it).</para>
/// Dispose closes the TAP (its addresses and routes go with it) and restores both settings. A failed
/// <see cref="Create"/> leaves nothing behind.
/// </summary>
public sealed class HostPortNetwork : IDisposable
{
    /// <summary>
    /// The uplink interface's IPv4 settings while the host port exists (Documentation/networking/ip-sysctl.rst):
    /// arp_ignore 8 "do not reply for all local addresses", rp_filter 1 strict reverse-path filtering.
    /// </summary>
    private static readonly (string Name, string Value)[] s_uplinkSettings = [("arp_ignore", "8"), ("rp_filter", "1")];

    private readonly string? _netns;
    private readonly string _uplinkInterface;
    private readonly (string Name, string Value)[] _saved;
    private bool _disposed;

    private HostPortNetwork(PodNetwork network, string? netns, string uplinkInterface, (string Name, string Value)[] saved)
    {
        Network = network;
        _netns = netns;
        _uplinkInterface = uplinkInterface;
        _saved = saved;
    }

    /// <summary>The TAP and its kernel-side configuration (a <see cref="PodNetwork"/> in the node's namespace that did not create it).</summary>
    public PodNetwork Network { get; }

    public TapDevice Tap => Network.Tap;

    /// <summary>The kernel side's IPv6 link-local address as the kernel made it (null with IPv6 off), for the source guard.</summary>
    public Ip6Address? LinkLocal => Network.LinkLocal is { } ll ? Ip6Address.Parse(ll.ToString()) : null;

    /// <summary>What <see cref="Create"/> asks the kernel for.</summary>
    public static PodNetworkSpec Spec(NodeConfig config, string? netns)
    {
        HostPortConfig host = config.Node.HostPort ?? throw new ArgumentException("node.hostPort is not set", nameof(config));
        UplinkConfig uplink = config.Node.Uplink ?? throw new ArgumentException("node.hostPort needs node.uplink", nameof(config));
        bool offloads = config.Dataplane.Offloads;
        return new PodNetworkSpec
        {
            Namespace = netns ?? "/proc/self/ns/net",
            CreateNamespaceIfAbsent = false,
            InterfaceName = host.Name,
            Mac = PhysicalAddress.Parse(host.Mac.ToString().Replace(':', '-').ToUpperInvariant()),
            Mtu = uplink.Mtu,
            IPv4 = uplink.Ip.ToIPAddress(),
            IPv4PrefixLength = 32,
            GatewayV4 = HostPortConfig.NextHop4.ToIPAddress(),
            IPv6 = uplink.IpV6?.ToIPAddress(),
            IPv6PrefixLength = 128,
            GatewayV6 = uplink.IpV6 is null ? null : HostPortConfig.NextHop6.ToIPAddress(),
            Tap = new TapOptions
            {
                VnetHeader = offloads,
                VnetHeaderSize = PortDevice.VirtioHeaderSize,
                Offloads = offloads ? TapOffloads.Checksum | TapOffloads.Tso4 | TapOffloads.Tso6 | TapOffloads.TsoEcn : TapOffloads.None,
            },
        };
    }

    /// <summary>
    /// Makes the TAP in the node's namespace (<paramref name="netns"/>, or the daemon's own when null) and configures it,
    /// then turns ARP for the node's addresses and reverse-path-failing input off on the uplink interface. The kernel refuses a second default route,
    /// so a node namespace that has one already fails here, with the kernel's reason, and nothing is left.
    /// </summary>
    public static HostPortNetwork Create(NodeConfig config, string? netns)
    {
        PodNetwork network = PodNetwork.Create(Spec(config, netns));
        string uplinkInterface = config.Node.Uplink!.Interface;
        try
        {
            (string, string)[] saved = InNamespace(netns, () =>
            {
                var previous = new List<(string, string)>();
                try
                {
                    foreach ((string name, string value) in s_uplinkSettings)
                    {
                        string path = SettingPath(uplinkInterface, name);
                        previous.Add((name, File.ReadAllText(path).Trim()));
                        File.WriteAllText(path, value);
                    }
                }
                catch
                {
                    Restore(uplinkInterface, previous);
                    throw;
                }

                return previous.ToArray();
            });
            return new HostPortNetwork(network, netns, uplinkInterface, saved);
        }
        catch (Exception failure)
        {
            try
            {
                network.Dispose();
            }
            catch (Exception undo)
            {
                throw new AggregateException($"setting up the host port {config.Node.HostPort!.Name} failed, and undoing it failed too", failure, undo);
            }

            ExceptionDispatchInfo.Throw(failure);
            throw;
        }
    }

    /// <summary>Closes the TAP (the kernel removes its addresses and routes with it) and puts the uplink's settings back.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        var failures = new List<Exception>();
        try
        {
            Network.Dispose();
        }
        catch (Exception e)
        {
            failures.Add(e);
        }

        try
        {
            InNamespace(_netns, () =>
            {
                Restore(_uplinkInterface, _saved);
                return 0;
            });
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or Io.ErrnoException)
        {
            failures.Add(e);
        }

        if (failures.Count > 0)
        {
            throw new AggregateException($"tearing down the host port {Network.Spec.InterfaceName} failed", failures);
        }
    }

    public override string ToString() => $"host port {Network.Spec.InterfaceName} (TAP {Tap.Name}) in namespace '{Network.Namespace.Label}'";

    private static string SettingPath(string uplinkInterface, string name) => $"/proc/sys/net/ipv4/conf/{uplinkInterface}/{name}";

    /// <summary>Puts the settings back (inside the namespace); an interface that is gone has nothing to restore.</summary>
    private static void Restore(string uplinkInterface, IEnumerable<(string Name, string Value)> saved)
    {
        foreach ((string name, string value) in saved)
        {
            string path = SettingPath(uplinkInterface, name);
            if (File.Exists(path))
            {
                File.WriteAllText(path, value);
            }
        }
    }

    /// <summary>/proc/sys/net shows the namespace of the thread that opens it, so the file is opened from inside.</summary>
    private static T InNamespace<T>(string? netns, Func<T> work)
    {
        if (netns is null)
        {
            return work();
        }

        using NetworkNamespace ns = NetworkNamespace.Open(netns);
        return ns.Run(work);
    }
}
