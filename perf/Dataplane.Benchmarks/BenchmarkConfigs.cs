using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Jobs;

namespace Dataplane.Benchmarks;

/// <summary>
/// `quick` (the everyday run: a couple of minutes on 2 cores, wider error bars) and `full` (BenchmarkDotNet's
/// default job: statistically tight, much longer). Both report Mpps/core, ns/packet and allocated bytes.
/// </summary>
public static class BenchmarkConfigs
{
    public static IConfig Quick() => Base(Job.Default.WithWarmupCount(2).WithIterationCount(5).WithLaunchCount(1).WithId("quick"));

    public static IConfig Full() => Base(Job.Default.WithId("full"));

    private static IConfig Base(Job job) => DefaultConfig.Instance
        .AddJob(job)
        .AddDiagnoser(MemoryDiagnoser.Default)
        .AddColumn(new MppsColumn());
}
