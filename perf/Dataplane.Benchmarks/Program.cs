using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Running;
using Dataplane.Benchmarks;

// dotnet run -c Release --project perf/Dataplane.Benchmarks -- quick|full [BenchmarkDotNet args, e.g. --filter '*Pipeline*']
string mode = args.Length > 0 ? args[0] : "quick";
IConfig config = mode switch
{
    "quick" => BenchmarkConfigs.Quick(),
    "full" => BenchmarkConfigs.Full(),
    _ => throw new ArgumentException($"first argument must be 'quick' or 'full', not '{mode}'"),
};
BenchmarkSwitcher.FromAssembly(typeof(MppsColumn).Assembly).Run(args.Length > 0 ? args[1..] : ["--filter", "*"], config);
