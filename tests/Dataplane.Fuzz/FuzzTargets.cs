using Dataplane.Fuzz.Targets;

namespace Dataplane.Fuzz;

/// <summary>Every fuzz target by name: what `Dataplane.Fuzz TARGET` and scripts/fuzz.sh accept.</summary>
public static class FuzzTargets
{
    public static IReadOnlyList<FuzzTarget> All { get; } =
    [
        new("pipeline", "frames on any ports through the whole graph: no exception, every frame forwarded or counted as a drop", PipelineTarget.Run,
            static () =>
            {
                var runner = new PipelineRunner(reuse: true);
                return input => runner.Run(input);
            }),
        new("frames", "each header parser on the bytes at every layer offset: no exception, parsed fields inside the input", FrameParsersTarget.Run),
        new("pcap", "a capture file (pcap or pcapng) read to its end as replay reads it: no exception, every record within bounds", PcapTarget.Run),
        new("config", "node.yaml text through the config loader: errors as values, never an exception", ConfigTarget.Run),
        new("control", "a control-socket request line as the daemon parses it, and service-apply's YAML: no exception but the ones answered as errors", ControlRequestTarget.Run),
        new("cni", "the CNI plugin's stdin (network configuration): a CNI error or a config, never another exception", CniNetConfTarget.Run),
    ];

    public static FuzzTarget? Find(string name) => All.FirstOrDefault(t => t.Name == name);
}
