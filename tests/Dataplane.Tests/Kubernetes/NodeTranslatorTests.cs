using Dataplane.Kubernetes;
using Dataplane.Model;
using Dataplane.Packets;
using k8s.Models;
using static Dataplane.Tests.Kubernetes.ApiObjects;

namespace Dataplane.Tests.Kubernetes;

/// <summary>
/// The cluster's Nodes become this node's identity and its routes to the other nodes' pod CIDRs: host-gw next hops
/// on the uplink's subnet, or flannel's VXLAN tunnel endpoints read from its annotations.
/// </summary>
[Trait("Category", "unit")]
public class NodeTranslatorTests
{
    private const string Self = "worker-1";

    /// <summary>worker-1's own VTEP MAC, as its flannel annotation in Objects/cluster.yaml says.</summary>
    private static readonly MacAddress s_ownVtepMac = MacAddress.Parse("ce:4a:02:7d:18:6f");

    [Fact]
    public void Own_node_object_gives_this_nodes_pod_cidrs_and_internal_ips()
    {
        NodeTranslation translation = NodeTranslator.Translate(Cluster().Nodes, Self, HostGw());

        Assert.Equal(
            new NodeIdentity(Self, IpPrefix.Parse("10.244.1.0/24"), IpPrefix.Parse("fd00:10:244:1::/64"),
                Ip4Address.Parse("192.168.56.11"), Ip6Address.Parse("fd00:56::11")),
            translation.Self);
    }

    [Fact]
    public void Host_gw_routes_each_other_nodes_pod_cidrs_via_its_internal_ip_of_the_same_family()
    {
        NodeTranslation translation = NodeTranslator.Translate(Cluster().Nodes, Self, HostGw());

        Assert.Equal(
            [
                Route("10.244.0.0/24", "192.168.56.10"),
                Route("10.244.2.0/24", "192.168.56.12"),
                Route("fd00:10:244::/64", "fd00:56::10"),
                Route("fd00:10:244:2::/64", "fd00:56::12"),
            ],
            translation.Routes);
        Assert.Empty(translation.Warnings);
    }

    [Fact]
    public void Vxlan_routes_go_to_each_nodes_flannel_vtep_and_ipv6_pod_cidrs_are_warned_about()
    {
        NodeTranslation translation = NodeTranslator.Translate(Cluster().Nodes, Self, Vxlan());

        Assert.Equal(
            [
                new RouteConfig(IpPrefix.Parse("10.244.0.0/24"), IpAddress.Parse("192.168.56.10"), null, MacAddress.Parse("62:7f:3e:0b:91:d4")),
                new RouteConfig(IpPrefix.Parse("10.244.2.0/24"), IpAddress.Parse("192.168.56.12"), null, MacAddress.Parse("5a:e3:91:c0:2b:48")),
            ],
            translation.Routes);
        Assert.All(translation.Routes, r => Assert.True(r.IsVxlan));
        Assert.Equal(["Node cp-1", "Node worker-2"], translation.Warnings.Select(w => $"{w.Kind} {w.Name}"));
        Assert.All(translation.Warnings, w => Assert.Contains("VXLAN runs over IPv4 only", w.Problem, StringComparison.Ordinal));
    }

    [Fact]
    public void Vtep_is_the_public_ip_annotation_else_the_internal_ip()
    {
        List<V1Node> nodes = [.. Cluster().Nodes];
        V1Node cp = nodes.Single(n => n.Metadata.Name == "cp-1");
        cp.Metadata.Annotations["flannel.alpha.coreos.com/public-ip"] = "192.168.56.110";
        nodes.Single(n => n.Metadata.Name == "worker-2").Metadata.Annotations.Remove("flannel.alpha.coreos.com/public-ip");

        NodeTranslation translation = NodeTranslator.Translate(nodes, Self, Vxlan());

        Assert.Equal(["192.168.56.110", "192.168.56.12"], translation.Routes.Select(r => r.Via.ToString()));
    }

    [Fact]
    public void Node_without_an_internal_ip_of_a_pod_cidrs_family_gets_no_route_for_that_cidr()
    {
        List<V1Node> nodes = [.. Cluster().Nodes];
        V1Node worker2 = nodes.Single(n => n.Metadata.Name == "worker-2");
        worker2.Status.Addresses = [.. worker2.Status.Addresses.Where(a => !a.Address.Contains(':', StringComparison.Ordinal))];

        NodeTranslation translation = NodeTranslator.Translate(nodes, Self, HostGw());

        Assert.Equal(["10.244.0.0/24", "10.244.2.0/24", "fd00:10:244::/64"], translation.Routes.Select(r => r.Cidr.ToString()));
        Assert.Equal(
            "Node worker-2: has no IPv6 InternalIP (status.addresses) to route its pod CIDR fd00:10:244:2::/64 to: no route",
            Assert.Single(translation.Warnings).ToString());
    }

    [Fact]
    public void Host_gw_next_hop_off_the_uplinks_subnet_is_refused_with_a_hint_to_use_vxlan()
    {
        List<V1Node> nodes = [.. Cluster().Nodes];
        nodes.Single(n => n.Metadata.Name == "worker-2").Status.Addresses[0].Address = "192.168.57.12";

        NodeTranslation translation = NodeTranslator.Translate(nodes, Self, HostGw());

        Assert.DoesNotContain(translation.Routes, r => r.Cidr == IpPrefix.Parse("10.244.2.0/24"));
        Assert.Equal(
            "Node worker-2: pod CIDR 10.244.2.0/24 via 192.168.57.12: not on the uplink's subnet 192.168.56.0/24; host-gw routes need every node on one L2 segment, use vxlan (node.vxlan) across subnets: no route",
            Assert.Single(translation.Warnings).ToString());
    }

    [Fact]
    public void Vtep_off_the_uplinks_subnet_is_refused()
    {
        List<V1Node> nodes = [.. Cluster().Nodes];
        nodes.Single(n => n.Metadata.Name == "worker-2").Metadata.Annotations["flannel.alpha.coreos.com/public-ip"] = "10.1.2.3";

        NodeTranslation translation = NodeTranslator.Translate(nodes, Self, Vxlan());

        Assert.Equal(["10.244.0.0/24"], translation.Routes.Select(r => r.Cidr.ToString()));
        Assert.Contains(translation.Warnings, w => w.Name == "worker-2" && w.Problem.StartsWith("VTEP 10.1.2.3: not on the uplink's subnet 192.168.56.0/24", StringComparison.Ordinal));
    }

    [Fact]
    public void Pod_cidr_overlapping_this_nodes_gets_no_route()
    {
        List<V1Node> nodes = [.. Cluster().Nodes];
        nodes.Single(n => n.Metadata.Name == "worker-2").Spec.PodCIDRs = ["10.244.1.128/25"];

        NodeTranslation translation = NodeTranslator.Translate(nodes, Self, HostGw());

        Assert.DoesNotContain(translation.Routes, r => r.Cidr == IpPrefix.Parse("10.244.1.128/25"));
        Assert.Equal(
            "Node worker-2: pod CIDR 10.244.1.128/25 overlaps this node's 10.244.1.0/24, whose pods it would take: no route",
            Assert.Single(translation.Warnings).ToString());
    }

    [Fact]
    public void Two_nodes_claiming_one_pod_cidr_route_it_to_the_first_by_name_only()
    {
        List<V1Node> nodes = [.. Cluster().Nodes];
        nodes.Single(n => n.Metadata.Name == "worker-2").Spec.PodCIDRs = ["10.244.0.0/24"];

        NodeTranslation translation = NodeTranslator.Translate(nodes, Self, HostGw());

        Assert.Equal(Route("10.244.0.0/24", "192.168.56.10"), translation.Routes.Single(r => r.Cidr == IpPrefix.Parse("10.244.0.0/24")));
        Assert.Equal(
            "Node worker-2: pod CIDR 10.244.0.0/24 overlaps node cp-1's 10.244.0.0/24 (which of the two has those pods?): no route",
            Assert.Single(translation.Warnings).ToString());
    }

    [Theory]
    [InlineData("{\"VNI\":1,\"VtepMAC\":\"5a:e3:91:c0:2b", "flannel.alpha.coreos.com/backend-data: '{\"VNI\":1,\"VtepMAC\":\"5a:e3:91:c0:2b' is not JSON")]
    [InlineData("{\"VNI\":1}", "has no VtepMAC")]
    [InlineData("{\"VNI\":1,\"VtepMAC\":\"5a:e3:91\"}", "VtepMAC '5a:e3:91' is not a unicast MAC address")]
    [InlineData("{\"VNI\":42,\"VtepMAC\":\"5a:e3:91:c0:2b:48\"}", "has VNI 42 and this node's is 1 (node.vxlan.vni)")]
    [InlineData("{\"VNI\":1,\"VtepMAC\":\"ce:4a:02:7d:18:6f\"}", "this node's own (node.vxlan.mac)")]
    public void Unusable_flannel_backend_data_gets_no_route_and_says_why(string backendData, string problem)
    {
        List<V1Node> nodes = [.. Cluster().Nodes];
        nodes.Single(n => n.Metadata.Name == "worker-2").Metadata.Annotations["flannel.alpha.coreos.com/backend-data"] = backendData;

        NodeTranslation translation = NodeTranslator.Translate(nodes, Self, Vxlan());

        Assert.Equal(["10.244.0.0/24"], translation.Routes.Select(r => r.Cidr.ToString()));
        Assert.Contains(translation.Warnings, w => w.Name == "worker-2" && w.Problem.Contains(problem, StringComparison.Ordinal) && w.Problem.EndsWith("no route to 10.244.2.0/24", StringComparison.Ordinal));
    }

    [Fact]
    public void Node_of_another_flannel_backend_or_none_yet_gets_no_vxlan_route()
    {
        List<V1Node> nodes = [.. Cluster().Nodes];
        nodes.Single(n => n.Metadata.Name == "cp-1").Metadata.Annotations["flannel.alpha.coreos.com/backend-type"] = "host-gw";
        V1Node worker2 = nodes.Single(n => n.Metadata.Name == "worker-2");
        worker2.Metadata.Annotations = new Dictionary<string, string> { ["node.alpha.kubernetes.io/ttl"] = "0" };

        NodeTranslation translation = NodeTranslator.Translate(nodes, Self, Vxlan());

        Assert.Empty(translation.Routes);
        Assert.Contains(translation.Warnings, w => w.Name == "cp-1" && w.Problem.StartsWith("flannel.alpha.coreos.com/backend-type is 'host-gw', not vxlan", StringComparison.Ordinal));
        Assert.Contains(translation.Warnings, w => w.Name == "worker-2" && w.Problem.StartsWith("has no flannel VXLAN annotations", StringComparison.Ordinal));
    }

    [Fact]
    public void Node_without_a_pod_cidr_yet_is_skipped_silently()
    {
        List<V1Node> nodes = [.. Cluster().Nodes];
        V1Node worker2 = nodes.Single(n => n.Metadata.Name == "worker-2");
        worker2.Spec.PodCIDR = null;
        worker2.Spec.PodCIDRs = null;

        NodeTranslation translation = NodeTranslator.Translate(nodes, Self, HostGw());

        Assert.Equal(["10.244.0.0/24", "fd00:10:244::/64"], translation.Routes.Select(r => r.Cidr.ToString()));
        Assert.Empty(translation.Warnings);
    }

    [Fact]
    public void Pod_cidr_alone_is_read_when_the_list_is_absent()
    {
        List<V1Node> nodes = [.. Cluster().Nodes];
        nodes.Single(n => n.Metadata.Name == "worker-2").Spec.PodCIDRs = null;

        NodeTranslation translation = NodeTranslator.Translate(nodes, Self, HostGw());

        Assert.Contains(Route("10.244.2.0/24", "192.168.56.12"), translation.Routes);
        Assert.DoesNotContain(translation.Routes, r => r.Cidr == IpPrefix.Parse("fd00:10:244:2::/64"));
    }

    [Fact]
    public void This_node_missing_from_the_cluster_or_disagreeing_with_its_settings_is_warned_about()
    {
        NodeTranslation missing = NodeTranslator.Translate(Cluster().Nodes, "worker-9", HostGw());
        Assert.Null(missing.Self);
        Assert.Contains(missing.Warnings, w => w.ToString() == "Node worker-9: is not among the cluster's Nodes: is the node name the kubelet's?");

        List<V1Node> nodes = [.. Cluster().Nodes];
        nodes.Single(n => n.Metadata.Name == Self).Spec.PodCIDRs = ["10.244.5.0/24", "fd00:10:244:1::/64"];
        NodeTranslation moved = NodeTranslator.Translate(nodes, Self, HostGw());
        Assert.Equal(
            "Node worker-1: spec.podCIDRs has 10.244.5.0/24 but this node serves pods from 10.244.1.0/24 (node.podCidr): other nodes route 10.244.5.0/24 here",
            Assert.Single(moved.Warnings).ToString());
    }

    [Fact]
    public void Same_nodes_in_any_order_give_equal_routes()
    {
        List<V1Node> nodes = [.. Cluster().Nodes];
        NodeTranslation first = NodeTranslator.Translate(nodes, Self, HostGw());
        nodes.Reverse();

        NodeTranslation second = NodeTranslator.Translate(nodes, Self, HostGw());

        Assert.Equal(first.Routes, second.Routes);
        Assert.Equal(4, first.Routes.Count);
    }

    [Theory]
    [InlineData("{\"VNI\":1,\"VtepMAC\":\"62:7f:3e:0b:91:d4\"}", 1)]
    [InlineData("{\"vni\":7,\"vtepMAC\":\"62:7f:3e:0b:91:d4\"}", 7)]     // Go's encoding/json matches keys without case
    [InlineData("{\"VtepMAC\":\"62:7f:3e:0b:91:d4\"}", 0)]
    public void Flannel_backend_data_is_read_as_flanneld_reads_it(string json, int vni)
    {
        Assert.True(FlannelAnnotations.TryParseVxlanData(json, out int readVni, out MacAddress mac, out string? problem), problem);
        Assert.Equal(vni, readVni);
        Assert.Equal(MacAddress.Parse("62:7f:3e:0b:91:d4"), mac);
    }

    private static RouteConfig Route(string cidr, string via) => new(IpPrefix.Parse(cidr), IpAddress.Parse(via), null);

    /// <summary>worker-1 as this dataplane serves it: its pod CIDRs and its uplink on 192.168.56.0/24 and fd00:56::/64.</summary>
    private static NodeSettings HostGw() => new(
        Self, IpPrefix.Parse("10.244.1.0/24"), IpPrefix.Parse("fd00:10:244:1::/64"), Ip4Address.Parse("10.244.1.1"), Ip6Address.Parse("fd00:10:244:1::1"),
        MacAddress.Parse("02:00:0a:f4:01:01"), 1450,
        new UplinkConfig("eth0", Ip4Address.Parse("192.168.56.11"), 24, Ip6Address.Parse("fd00:56::11"), 64, MacAddress.Parse("52:54:00:12:34:11"), 1500));

    private static NodeSettings Vxlan() => HostGw() with { Vxlan = new VxlanConfig(VxlanConfig.DefaultVni, VxlanConfig.DefaultPort, s_ownVtepMac) };
}
