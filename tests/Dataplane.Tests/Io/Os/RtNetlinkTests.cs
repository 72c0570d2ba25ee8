using System.Net;
using System.Net.NetworkInformation;
using System.Text.Json;
using Dataplane.Io;
using Dataplane.Io.Netlink;
using Dataplane.Io.Netns;
using Dataplane.Tests.Infrastructure;

namespace Dataplane.Tests.Io.Os;

/// <summary>Every netlink socket here is opened inside a test namespace.</summary>
[Trait("Category", "e2e")]
public sealed class RtNetlinkTests : IDisposable
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(5);
    private readonly TestNamespaces _test = new();

    public void Dispose() => _test.Dispose();

    [RootFact]
    public void Veth_pair_across_namespaces_is_created_and_deleting_one_end_removes_both()
    {
        string a = _test.Add();
        string b = _test.Add();
        using NetworkNamespace nsA = NetworkNamespace.Open(a);
        using NetworkNamespace nsB = NetworkNamespace.Open(b);
        using RtNetlink netA = nsA.OpenNetlink();
        using RtNetlink netB = nsB.OpenNetlink();

        netA.CreateVethPair("dpt-va", "dpt-vb", nsB.Handle);

        Assert.Equal("veth", netA.GetLink("dpt-va").Kind);
        Assert.Equal("veth", netB.GetLink("dpt-vb").Kind);
        Assert.Contains("dpt-va", TestNamespaces.LinkNames(a));
        Assert.Contains("dpt-vb", TestNamespaces.LinkNames(b));
        Assert.DoesNotContain("dpt-vb", TestNamespaces.LinkNames(a));

        netA.DeleteLink(netA.GetLinkIndex("dpt-va"));

        Assert.False(netA.TryGetLinkIndex("dpt-va", out _));
        Poll.Until(() => !netB.TryGetLinkIndex("dpt-vb", out _), s_timeout, "the veth peer to go with its pair");
    }

    [RootFact]
    public void Link_address_mtu_state_and_name_are_set_as_asked()
    {
        string name = _test.Add();
        using NetworkNamespace ns = NetworkNamespace.Open(name);
        using RtNetlink net = ns.OpenNetlink();
        net.CreateVethPair("dpt-a", "dpt-b");
        int index = net.GetLinkIndex("dpt-a");
        var mac = PhysicalAddress.Parse("02-00-00-AB-CD-EF");

        net.SetLinkAddress(index, mac);
        net.SetLinkMtu(index, 1400);
        net.RenameLink(index, "dpt-renamed");
        net.SetLinkUp(index);

        LinkInfo link = net.GetLink("dpt-renamed");
        Assert.Equal(index, link.Index);
        Assert.Equal(mac, link.Address);
        Assert.Equal(1400, link.Mtu);
        Assert.True(link.IsUp);
        JsonElement json = TestNamespaces.IpJson("-n", name, "link", "show", "dev", "dpt-renamed")[0];
        Assert.Equal("02:00:00:ab:cd:ef", json.GetProperty("address").GetString());
        Assert.Equal(1400, json.GetProperty("mtu").GetInt32());
        Assert.Contains("UP", json.GetProperty("flags").EnumerateArray().Select(f => f.GetString()));

        net.SetLinkDown(index);
        Assert.False(net.GetLink("dpt-renamed").IsUp);
    }

    [RootFact]
    public void ListLinks_returns_every_link_with_its_index()
    {
        string name = _test.Add();
        using NetworkNamespace ns = NetworkNamespace.Open(name);
        using RtNetlink net = ns.OpenNetlink();
        net.CreateVethPair("dpt-a", "dpt-b");

        IReadOnlyList<LinkInfo> links = net.ListLinks();

        Assert.Equal(["dpt-a", "dpt-b", "lo"], links.Select(l => l.Name).Order(StringComparer.Ordinal));
        Assert.Equal(1, links.Single(l => l.Name == "lo").Index);
        Assert.All(links, l => Assert.Equal(l.Index, net.GetLinkIndex(l.Name)));
    }

    [RootFact]
    public void Bridge_is_created_and_a_port_enslaved()
    {
        string name = _test.Add();
        using NetworkNamespace ns = NetworkNamespace.Open(name);
        using RtNetlink net = ns.OpenNetlink();

        net.CreateBridge("dpt-br");
        net.CreateVethPair("dpt-p0", "dpt-p1");
        int bridge = net.GetLinkIndex("dpt-br");
        net.SetLinkMaster(net.GetLinkIndex("dpt-p0"), bridge);

        Assert.Equal("bridge", net.GetLink("dpt-br").Kind);
        Assert.Equal(bridge, net.GetLink("dpt-p0").MasterIndex);
        JsonElement port = TestNamespaces.IpJson("-n", name, "link", "show", "dev", "dpt-p0")[0];
        Assert.Equal("dpt-br", port.GetProperty("master").GetString());

        net.SetLinkMaster(net.GetLinkIndex("dpt-p0"), 0);
        Assert.Equal(0, net.GetLink("dpt-p0").MasterIndex);
    }

    [RootFact]
    public void Addresses_and_routes_are_added_like_ip_does()
    {
        string name = _test.Add();
        using NetworkNamespace ns = NetworkNamespace.Open(name);
        using RtNetlink net = ns.OpenNetlink();
        net.CreateVethPair("dpt-a", "dpt-b");
        int a = net.GetLinkIndex("dpt-a");
        net.SetLinkUp(a);
        net.SetLinkUp(net.GetLinkIndex("dpt-b"));

        net.AddAddress(a, IPAddress.Parse("10.251.0.2"), 24);
        net.AddAddress(a, IPAddress.Parse("fd00:dbe:1::2"), 64, noDad: true);
        net.AddRoute(IPAddress.Parse("10.252.0.0"), 16, IPAddress.Parse("10.251.0.1"), a);
        net.AddRoute(IPAddress.Parse("10.253.0.0"), 24, gateway: null, a);
        net.AddRoute(IPAddress.Parse("10.254.0.0"), 24, IPAddress.Parse("169.254.1.1"), a, onLink: true);
        net.AddDefaultRoute(IPAddress.Parse("fd00:dbe:1::1"), a);

        JsonElement routes = TestNamespaces.IpJson("-n", name, "route", "show");
        Assert.Contains(routes.EnumerateArray(), r => r.GetProperty("dst").GetString() == "10.252.0.0/16" && r.GetProperty("gateway").GetString() == "10.251.0.1");
        Assert.Contains(routes.EnumerateArray(), r => r.GetProperty("dst").GetString() == "10.253.0.0/24" && r.GetProperty("scope").GetString() == "link");
        Assert.Contains(routes.EnumerateArray(), r => r.GetProperty("dst").GetString() == "10.254.0.0/24"
            && r.GetProperty("flags").EnumerateArray().Any(f => f.GetString() == "onlink"));
        JsonElement v6 = TestNamespaces.IpJson("-n", name, "-6", "route", "show", "default");
        Assert.Equal("fd00:dbe:1::1", v6[0].GetProperty("gateway").GetString());
        JsonElement addrs = TestNamespaces.IpJson("-n", name, "addr", "show", "dev", "dpt-a")[0].GetProperty("addr_info");
        Assert.Contains(addrs.EnumerateArray(), x => x.GetProperty("local").GetString() == "10.251.0.2" && x.GetProperty("prefixlen").GetInt32() == 24);
        Assert.Contains(addrs.EnumerateArray(), x => x.GetProperty("local").GetString() == "fd00:dbe:1::2" && !x.TryGetProperty("tentative", out _));
    }

    [RootFact]
    public void Refusals_carry_the_errno_the_object_the_namespace_and_the_kernels_reason()
    {
        string name = _test.Add();
        using NetworkNamespace ns = NetworkNamespace.Open(name);
        using RtNetlink net = ns.OpenNetlink();
        net.CreateVethPair("dpt-a", "dpt-b");
        int a = net.GetLinkIndex("dpt-a");
        net.SetLinkUp(a);
        net.AddAddress(a, IPAddress.Parse("10.251.0.2"), 24);

        var missing = Assert.Throws<NetlinkException>(() => net.GetLinkIndex("dpt-nope"));
        Assert.Equal(Errno.ENODEV, missing.Errno);
        Assert.Contains("dpt-nope", missing.Message, StringComparison.Ordinal);
        Assert.Contains(name, missing.Message, StringComparison.Ordinal);

        // A gateway no connected prefix covers, without onlink: the kernel says why (extended ACK).
        var unreachable = Assert.Throws<NetlinkException>(() => net.AddDefaultRoute(IPAddress.Parse("10.99.0.1"), a));
        Assert.Equal(Errno.ENETUNREACH, unreachable.Errno);
        Assert.Contains("'dpt-a'", unreachable.Message, StringComparison.Ordinal);
        Assert.Contains("ENETUNREACH", unreachable.Message, StringComparison.Ordinal);
        Assert.False(string.IsNullOrEmpty(unreachable.KernelMessage));
        Assert.Contains(unreachable.KernelMessage!, unreachable.Message, StringComparison.Ordinal);

        var duplicate = Assert.Throws<NetlinkException>(() => net.AddAddress(a, IPAddress.Parse("10.251.0.2"), 24));
        Assert.Equal(Errno.EEXIST, duplicate.Errno);

        Assert.False(net.TryDeleteLink("dpt-nope"));
        Assert.True(net.TryDeleteLink("dpt-a"));
    }
}
