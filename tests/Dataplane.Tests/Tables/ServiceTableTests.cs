using Dataplane.Config;
using Dataplane.Model;
using Dataplane.Packets;
using Dataplane.Tables;
using static Dataplane.Tests.Tables.ServiceConfigs;

namespace Dataplane.Tests.Tables;

[Trait("Category", "unit")]
public sealed class ServiceTableTests
{
    [Fact]
    public void Lookup_finds_ipv4_and_ipv6_vips_and_misses_other_ports_protocols_and_addresses()
    {
        var table = new ServiceTable(maxServicePorts: 64);
        ServiceUpdate update = table.Apply(Service("dns", "10.96.0.10", [Ep("10.244.1.5"), Ep("fd00:10:244:1::5")],
            ports: [Udp(53, 53, "dns"), Tcp(53, 53, "dns-tcp")], clusterIpV6: "fd00:10:96::a"));

        Assert.True(update.Succeeded, update.ToString());
        Assert.Equal(4, update.AddedPorts.Count);
        Assert.Equal(4, table.Count);

        Assert.True(table.TryLookup(Key("10.96.0.10", 53, L4Protocol.Udp), out ServicePort? udp4));
        Assert.Equal("dns", udp4.PortName);
        Assert.Equal(L4Protocol.Udp, udp4.Protocol);
        Assert.Equal(Ip("10.244.1.5"), Assert.Single(udp4.Backends.ToArray()).Ip); // the v4 VIP only gets v4 endpoints

        Assert.True(table.TryLookup(Key("fd00:10:96::a", 53, L4Protocol.Tcp), out ServicePort? tcp6));
        Assert.Equal("dns-tcp", tcp6.PortName);
        Assert.Equal(Ip("fd00:10:244:1::5"), Assert.Single(tcp6.Backends.ToArray()).Ip);

        Assert.True(table.TryLookup(new ServiceKey(Ip4Address.Parse("10.96.0.10"), L4Protocol.Tcp, 53), out _)); // the v4 packet-path constructor
        Assert.False(table.TryLookup(Key("10.96.0.10", 54, L4Protocol.Udp), out _));
        Assert.False(table.TryLookup(Key("10.96.0.10", 53, L4Protocol.Sctp), out _));
        Assert.False(table.TryLookup(Key("10.96.0.11", 53, L4Protocol.Udp), out _));
        Assert.False(table.TryLookup(Key("fd00:10:96::b", 53, L4Protocol.Udp), out _));
        Assert.False(table.TryLookup(Key("::ffff:10.96.0.11", 53, L4Protocol.Udp), out _));
        Assert.False(table.TryLookup(default, out _));
    }

    [Fact]
    public void Hundred_thousand_services_are_all_found()
    {
        const int services = 100_000;
        var table = new ServiceTable(maxServicePorts: services);
        EndpointConfig[] one = [Ep("10.244.1.1")];
        for (int i = 0; i < services; i++)
        {
            Assert.True(table.Apply(Service($"s{i}", Vip(i), one)).Succeeded);
        }

        Assert.Equal(services, table.Count);
        for (int i = 0; i < services; i++)
        {
            Assert.True(table.TryLookup(new ServiceKey(new Ip4Address(VipValue(i)), L4Protocol.Tcp, 80), out ServicePort? port));
            Assert.Equal($"s{i}", port.ServiceName);
            Assert.False(table.TryLookup(new ServiceKey(new Ip4Address(VipValue(i)), L4Protocol.Tcp, 81), out _));
        }
    }

    [Fact]
    public void Applying_one_service_leaves_every_other_service_port_object_untouched()
    {
        var table = new ServiceTable(maxServicePorts: 1024);
        for (int i = 0; i < 100; i++)
        {
            table.Apply(Service($"s{i}", Vip(i), Endpoints(3, group: 1 + i)));
        }

        ServicePort[] before = [.. Enumerable.Range(0, 100).Select(i => Lookup(table, Vip(i), 80))];
        ServiceUpdate update = table.Apply(Service("s42", Vip(42), Endpoints(4, group: 43)));

        Assert.Equal([Key(Vip(42), 80)], update.ChangedPorts);
        for (int i = 0; i < 100; i++)
        {
            ServicePort now = Lookup(table, Vip(i), 80);
            Assert.True(i == 42 ? !ReferenceEquals(before[i], now) : ReferenceEquals(before[i], now), $"s{i}");
        }
    }

    [Fact]
    public void Reapplying_the_same_service_changes_nothing()
    {
        var table = new ServiceTable(maxServicePorts: 16);
        ServiceConfig config = Service("web", "10.96.0.20", Endpoints(5));
        table.Apply(config);
        ServicePort before = Lookup(table, "10.96.0.20", 80);

        ServiceUpdate update = table.Apply(config with { Endpoints = [.. config.Endpoints.Reverse()] });

        Assert.True(update.Succeeded);
        Assert.False(update.Changed);
        Assert.Same(before, Lookup(table, "10.96.0.20", 80));
    }

    [Fact]
    public void Endpoint_change_keeps_stable_ids_and_reports_only_removed_backends()
    {
        var table = new ServiceTable(maxServicePorts: 16);
        table.Apply(Service("web", "10.96.0.20", [Ep("10.244.1.1"), Ep("10.244.1.2"), Ep("10.244.1.3")]));
        ServicePort before = Lookup(table, "10.96.0.20", 80);
        int idOf2 = before.Backends[1].StableId;

        ServiceUpdate update = table.Apply(Service("web", "10.96.0.20",
            [Ep("10.244.1.2"), Ep("10.244.1.3", terminating: true), Ep("10.244.1.4")]));

        ServicePort after = Lookup(table, "10.96.0.20", 80);
        RemovedBackend removed = Assert.Single(update.RemovedBackends); // .3 only became terminating: it keeps its flows
        Assert.Equal(Ip("10.244.1.1"), removed.Ip);
        Assert.Equal(8080, removed.Port);
        Assert.Equal(Key("10.96.0.20", 80), removed.Frontend);
        Assert.Equal(idOf2, after.Backends[0].StableId);
        Assert.DoesNotContain(after.Backends.ToArray(), b => b.StableId == before.Backends[0].StableId);
        Assert.True(after.Backends[2].StableId > before.Backends[2].StableId); // new endpoint, new id: ids are never reused
    }

    [Fact]
    public void Changing_the_target_port_flushes_the_old_address_and_port()
    {
        var table = new ServiceTable(maxServicePorts: 16);
        table.Apply(Service("web", "10.96.0.20", [Ep("10.244.1.1")]));

        ServiceUpdate update = table.Apply(Service("web", "10.96.0.20", [Ep("10.244.1.1")], ports: [Tcp(80, 9090)]));

        Assert.Equal(new RemovedBackend(Key("10.96.0.20", 80), Ip("10.244.1.1"), 8080, 1), Assert.Single(update.RemovedBackends));
        Assert.Equal(9090, Lookup(table, "10.96.0.20", 80).Backends[0].Port);
    }

    [Fact]
    public void Removing_a_service_unpublishes_its_ports_and_reports_all_its_backends()
    {
        var table = new ServiceTable(maxServicePorts: 16);
        table.Apply(Service("web", "10.96.0.20", Endpoints(2), ports: [Tcp(80, 8080), Tcp(443, 8443)]));
        table.Apply(Service("other", "10.96.0.21", Endpoints(1)));

        ServiceUpdate update = table.Remove("web");

        Assert.Equal(2, update.RemovedPorts.Count);
        Assert.Equal(4, update.RemovedBackends.Count);
        Assert.Contains(update.RemovedBackends, r => r.Port == 8443 && r.Frontend == Key("10.96.0.20", 443));
        Assert.False(table.TryLookup(Key("10.96.0.20", 80), out _));
        Assert.False(table.TryLookup(Key("10.96.0.20", 443), out _));
        Assert.True(table.TryLookup(Key("10.96.0.21", 80), out _));
        Assert.Equal(1, table.Count);
        Assert.False(table.Remove("web").Changed);
    }

    [Fact]
    public void Removing_a_port_reports_its_backends_and_keeps_the_other_port()
    {
        var table = new ServiceTable(maxServicePorts: 16);
        table.Apply(Service("web", "10.96.0.20", Endpoints(2), ports: [Tcp(80, 8080), Tcp(443, 8443)]));
        ServicePort https = Lookup(table, "10.96.0.20", 443);

        ServiceUpdate update = table.Apply(Service("web", "10.96.0.20", Endpoints(2), ports: [Tcp(443, 8443)]));

        Assert.Equal([Key("10.96.0.20", 80)], update.RemovedPorts);
        Assert.All(update.RemovedBackends, r => Assert.Equal(8080, r.Port));
        Assert.Same(https, Lookup(table, "10.96.0.20", 443));
    }

    [Fact]
    public void Full_table_refuses_the_service_and_changes_nothing()
    {
        var table = new ServiceTable(maxServicePorts: 3);
        Assert.True(table.Apply(Service("a", "10.96.0.1", Endpoints(1), ports: [Tcp(80, 80), Tcp(443, 443)])).Succeeded);

        ServiceUpdate update = table.Apply(Service("b", "10.96.0.2", Endpoints(1), ports: [Tcp(80, 80), Tcp(443, 443)]));

        Assert.False(update.Succeeded);
        Assert.Contains("full", update.Errors[0], StringComparison.Ordinal);
        Assert.False(table.TryLookup(Key("10.96.0.2", 80), out _));
        Assert.Equal(2, table.Count);
        Assert.True(table.Apply(Service("b", "10.96.0.2", Endpoints(1))).Succeeded); // one port still fits
    }

    [Fact]
    public void A_vip_port_owned_by_another_service_is_refused()
    {
        var table = new ServiceTable(maxServicePorts: 8);
        table.Apply(Service("a", "10.96.0.1", Endpoints(1)));

        ServiceUpdate update = table.Apply(Service("b", "10.96.0.1", Endpoints(1)));

        Assert.False(update.Succeeded);
        Assert.Equal("a", Lookup(table, "10.96.0.1", 80).ServiceName);
    }

    [Fact]
    public void Invalid_services_are_refused_with_reasons()
    {
        var table = new ServiceTable(maxServicePorts: 8);
        Assert.False(table.Apply(Service("dup-ep", "10.96.0.1", [Ep("10.244.1.1"), Ep("10.244.1.1")])).Succeeded);
        Assert.False(table.Apply(Service("dup-port", "10.96.0.1", Endpoints(1), ports: [Tcp(80, 1), Tcp(80, 2)])).Succeeded);
        Assert.False(table.Apply(Service("weight", "10.96.0.1", [Ep("10.244.1.1", weight: -1)])).Succeeded);
        Assert.Equal(0, table.Count);
    }

    [Fact]
    public void Many_adds_and_removes_leave_lookups_correct_through_tombstones_and_rehash()
    {
        var table = new ServiceTable(maxServicePorts: 16); // 32 slots: tombstones force a rehash every few rounds
        for (int round = 0; round < 500; round++)
        {
            Assert.True(table.Apply(Service($"s{round}", Vip(round), Endpoints(1))).Succeeded, $"round {round}");
            if (round >= 10)
            {
                table.Remove($"s{round - 10}");
            }

            for (int i = Math.Max(0, round - 9); i <= round; i++)
            {
                Assert.True(table.TryLookup(Key(Vip(i), 80), out _), $"round {round} s{i}");
            }

            Assert.False(table.TryLookup(Key(Vip(round + 1), 80), out _));
        }

        Assert.Equal(10, table.Count);
        Assert.Equal(10, table.Ports.Count());
    }

    [Fact]
    public void Maglev_table_is_rebuilt_only_when_the_endpoints_change()
    {
        var table = new ServiceTable(maxServicePorts: 16);
        table.Apply(Service("web", "10.96.0.20", Endpoints(5), ports: [Tcp(80, 8080), Tcp(443, 8443)]));
        ServicePort http = Lookup(table, "10.96.0.20", 80);
        Assert.NotNull(http.Maglev);
        Assert.Same(http.Maglev, Lookup(table, "10.96.0.20", 443).Maglev); // one table per service and family

        table.Apply(Service("web", "10.96.0.20", Endpoints(5), ports: [Tcp(80, 8080), Tcp(443, 8443), Tcp(8443, 8443)]));
        Assert.Same(http.Maglev, Lookup(table, "10.96.0.20", 8443).Maglev);

        table.Apply(Service("web", "10.96.0.20", Endpoints(6), ports: [Tcp(80, 8080)]));
        Assert.NotSame(http.Maglev, Lookup(table, "10.96.0.20", 80).Maglev);
    }

    [Fact]
    public void Table_size_grows_to_100_entries_per_backend()
    {
        var table = new ServiceTable(maxServicePorts: 4);
        table.Apply(Service("big", "10.96.0.20", Endpoints(1000)));

        Assert.Equal(100_003, Lookup(table, "10.96.0.20", 80).Maglev!.Size);
    }

    internal static string Vip(int i) => new Ip4Address(VipValue(i)).ToString();

    private static uint VipValue(int i) => 0x0A60_0000u + (uint)i + 1; // 10.96.x.y

    internal static ServicePort Lookup(ServiceTable table, string vip, ushort port)
    {
        Assert.True(table.TryLookup(Key(vip, port), out ServicePort? found), $"{vip}:{port}");
        return found;
    }
}
