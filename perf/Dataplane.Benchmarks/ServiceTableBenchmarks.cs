using BenchmarkDotNet.Attributes;
using Dataplane.Config;
using Dataplane.Model;
using Dataplane.Packets;
using Dataplane.Tables;

namespace Dataplane.Benchmarks;

/// <summary>
/// Service lookup as the load-balancer node does it for a packet without a conntrack entry. <c>Hit</c> repeats one
/// batch of 1024 keys (the cache-warm case: a burst of new flows to popular services); <c>HitSweep</c> walks every
/// service in a shuffled order (cold: at 100k services each lookup misses the caches); <c>Miss</c> is non-service
/// traffic, which also asks. Services have one endpoint so 100k of them fit in memory without Maglev tables.
/// </summary>
[MemoryDiagnoser]
public class ServiceTableLookupBenchmarks
{
    private const int Batch = 1024;
    private ServiceTable _table = null!;
    private ServiceKey[] _hot = null!;
    private ServiceKey[] _all = null!;
    private ServiceKey[] _misses = null!;
    private int _sweep;

    [Params(10, 1_000, 100_000)]
    public int Services { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _table = new ServiceTable(maxServicePorts: Services);
        EndpointConfig[] endpoint = [new(new Ip4Address(0x0AF4_0101), 1, false)];
        _all = new ServiceKey[Services];
        for (int i = 0; i < Services; i++)
        {
            var vip = new Ip4Address(0x0A60_0000u + (uint)i + 1);
            _table.Apply(new ServiceConfig($"s{i}", vip, null, SessionAffinity.None, 0, Scheduler.Maglev,
                [new ServicePortConfig(null, L4Protocol.Tcp, 80, 8080, null)], endpoint));
            _all[i] = new ServiceKey(vip, L4Protocol.Tcp, 80);
        }

        var random = new Random(42);
        random.Shuffle(_all);
        _hot = new ServiceKey[Batch];
        _misses = new ServiceKey[Batch];
        for (int i = 0; i < Batch; i++)
        {
            _hot[i] = _all[random.Next(Services)];
            _misses[i] = new ServiceKey(new Ip4Address(0x0A60_0000u + (uint)random.Next(Services)), L4Protocol.Tcp, 443);
        }
    }

    [Benchmark(OperationsPerInvoke = Batch)]
    public int Hit()
    {
        int found = 0;
        ServiceKey[] keys = _hot;
        for (int i = 0; i < keys.Length; i++)
        {
            found += _table.TryLookup(in keys[i], out _) ? 1 : 0;
        }

        return found;
    }

    [Benchmark(OperationsPerInvoke = Batch)]
    public int HitSweep()
    {
        int found = 0;
        ServiceKey[] keys = _all;
        int next = _sweep;
        for (int i = 0; i < Batch; i++)
        {
            found += _table.TryLookup(in keys[next], out _) ? 1 : 0;
            next = next + 1 == keys.Length ? 0 : next + 1;
        }

        _sweep = next;
        return found;
    }

    [Benchmark(OperationsPerInvoke = Batch)]
    public int Miss()
    {
        int found = 0;
        ServiceKey[] keys = _misses;
        for (int i = 0; i < keys.Length; i++)
        {
            found += _table.TryLookup(in keys[i], out _) ? 1 : 0;
        }

        return found;
    }
}

/// <summary>Backend choice for a new flow (10 backends), per scheduler; <c>Affinity</c> adds a ClientIP lookup and refresh to Maglev.</summary>
[MemoryDiagnoser]
public class ServiceTablePickBenchmarks
{
    private const int Batch = 1024;
    private ServicePort _port = null!;
    private uint[] _hashes = null!;
    private IpAddress[] _clients = null!;

    [Params("Maglev", "Random", "RoundRobin", "LeastConn", "Maglev+ClientIP")]
    public string Scheduler { get; set; } = "";

    [GlobalSetup]
    public void Setup()
    {
        var endpoints = new EndpointConfig[10];
        for (int i = 0; i < endpoints.Length; i++)
        {
            endpoints[i] = new EndpointConfig(new Ip4Address(0x0AF4_0101u + (uint)i), 1 + i % 2, false);
        }

        bool affinity = Scheduler.EndsWith("+ClientIP", StringComparison.Ordinal);
        var scheduler = Enum.Parse<Model.Scheduler>(affinity ? "Maglev" : Scheduler);
        var table = new ServiceTable(maxServicePorts: 16);
        var vip = new Ip4Address(0x0A60_0001);
        table.Apply(new ServiceConfig("web", vip, null, affinity ? SessionAffinity.ClientIP : SessionAffinity.None, 0, scheduler,
            [new ServicePortConfig(null, L4Protocol.Tcp, 80, 8080, null)], endpoints));
        table.TryLookup(new ServiceKey(vip, L4Protocol.Tcp, 80), out ServicePort? port);
        _port = port!;

        var random = new Random(7);
        _hashes = new uint[Batch];
        _clients = new IpAddress[Batch];
        for (int i = 0; i < Batch; i++)
        {
            _hashes[i] = (uint)random.NextInt64(1L << 32);
            _clients[i] = new Ip4Address(0x0AF5_0000u + (uint)random.Next(512)); // 512 clients: fits the 4096-entry affinity table
        }
    }

    [Benchmark(OperationsPerInvoke = Batch)]
    public int Pick()
    {
        int sum = 0;
        ServicePort port = _port;
        for (int i = 0; i < Batch; i++)
        {
            if (port.TryPickBackend(_hashes[i], in _clients[i], i * 1_000L, out Backend backend))
            {
                sum += backend.StableId;
            }
        }

        return sum;
    }

    /// <summary>Pick plus the release conntrack makes when the flow ends: the whole per-flow cost to the service table.</summary>
    [Benchmark(OperationsPerInvoke = Batch)]
    public int PickAndRelease()
    {
        int sum = 0;
        ServicePort port = _port;
        for (int i = 0; i < Batch; i++)
        {
            if (port.TryPickBackend(_hashes[i], in _clients[i], i * 1_000L, out Backend backend))
            {
                sum += backend.StableId;
                port.ReleaseConnection(backend.StableId);
            }
        }

        return sum;
    }
}

/// <summary>
/// One control-plane change with 10,000 services present (each 3 endpoints, Maglev, default 16381-entry tables):
/// a 10-endpoint service losing or regaining one endpoint (its Maglev table rebuilt), and re-applying an unchanged one.
/// </summary>
[MemoryDiagnoser]
public class ServiceTableApplyBenchmarks
{
    private const int Batch = 16;
    private ServiceTable _table = null!;
    private ServiceConfig _ten = null!;
    private ServiceConfig _nine = null!;

    [GlobalSetup]
    public void Setup()
    {
        _table = new ServiceTable(maxServicePorts: 16_384);
        for (int i = 0; i < 10_000; i++)
        {
            _table.Apply(Service($"s{i}", 0x0A60_0000u + (uint)i + 1, 3, 0x0A80_0000u + (uint)i * 16));
        }

        _ten = Service("changing", 0x0A70_0001, 10, 0x0AF0_0001);
        _nine = _ten with { Endpoints = _ten.Endpoints.Skip(1).ToArray() };
        _table.Apply(_ten);
    }

    [Benchmark(OperationsPerInvoke = Batch)]
    public int ApplyEndpointChange()
    {
        int changed = 0;
        for (int i = 0; i < Batch; i++)
        {
            changed += _table.Apply((i & 1) == 0 ? _nine : _ten).ChangedPorts.Count;
        }

        return changed;
    }

    [Benchmark(OperationsPerInvoke = Batch)]
    public int ApplyUnchanged()
    {
        int changed = 0;
        for (int i = 0; i < Batch; i++)
        {
            changed += _table.Apply(_ten).ChangedPorts.Count;
        }

        return changed;
    }

    private static ServiceConfig Service(string name, uint vip, int endpoints, uint firstEndpoint)
    {
        var list = new EndpointConfig[endpoints];
        for (int i = 0; i < endpoints; i++)
        {
            list[i] = new EndpointConfig(new Ip4Address(firstEndpoint + (uint)i), 1, false);
        }

        return new ServiceConfig(name, new Ip4Address(vip), null, SessionAffinity.None, 0, Scheduler.Maglev,
            [new ServicePortConfig(null, L4Protocol.Tcp, 80, 8080, null)], list);
    }
}

/// <summary>Maglev table build: 10 backends at the default 16381 entries, 1,000 backends at 100,003 (100 per backend).</summary>
[MemoryDiagnoser]
public class ServiceTableMaglevBuildBenchmarks
{
    private Backend[] _backends = null!;
    private int _size;

    [Params(10, 1_000)]
    public int Backends { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _backends = new Backend[Backends];
        for (int i = 0; i < Backends; i++)
        {
            _backends[i] = new Backend(new Ip4Address(0x0AF4_0001u + (uint)i), 8080, 1, false, i + 1);
        }

        _size = MaglevTable.SizeFor(Backends);
    }

    [Benchmark]
    public MaglevTable Build() => MaglevTable.Build(_backends, _size);
}
