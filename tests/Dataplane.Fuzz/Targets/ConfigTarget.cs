using System.Text;
using Dataplane.Config;
using Dataplane.Model;

namespace Dataplane.Fuzz.Targets;

/// <summary>
/// node.yaml text through <see cref="NodeConfigLoader.Parse(string, string)"/>: any text gives a config or errors,
/// never an exception. A config it accepts must hold up later, as the daemon uses it: written back out by
/// <see cref="NodeConfigWriter"/> (what `ctl service apply` re-parses) it parses again, and a dataplane builds from
/// it (NodeDataplane throws on what validation should have refused).
/// </summary>
public static class ConfigTarget
{
    /// <summary>Above these the dataplane's tables take long to allocate; the fuzzer would only measure that.</summary>
    private const int MaxConntrackEntriesBuilt = 65536;
    private const int MaxPodsBuilt = 1024;

    public static void Run(byte[] input)
    {
        ConfigResult result = NodeConfigLoader.Parse(Encoding.UTF8.GetString(input), "fuzz.yaml");
        if (!result.IsValid)
        {
            return;
        }

        NodeConfig config = result.Config;
        string written = NodeConfigWriter.Write(config);
        ConfigResult again = NodeConfigLoader.Parse(written, "written.yaml");
        if (!again.IsValid)
        {
            throw new FuzzInvariantException(
                $"an accepted config, written back out, is refused: {string.Join("; ", again.Errors)}\n--- written ---\n{written}");
        }

        if (config.Conntrack.MaxEntries <= MaxConntrackEntriesBuilt && config.Dataplane.MaxPods <= MaxPodsBuilt)
        {
            _ = new NodeDataplane(config);
        }
    }
}
