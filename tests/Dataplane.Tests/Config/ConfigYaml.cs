using Dataplane.Config;
using Dataplane.Model;

namespace Dataplane.Tests.Config;

/// <summary>
/// Test snippets and helpers. A case marks the line its error must point at with <c>#!</c>, so the expected line
/// number is read off the snippet itself instead of being counted by hand.
/// </summary>
internal static class ConfigYaml
{
    public const string Marker = "#!";

    /// <summary>A minimal valid node section with an uplink, for cases about later sections.</summary>
    public const string Node = """
        node:
          name: node-a
          podCidr: 10.244.1.0/24
          gatewayIp: 10.244.1.1
          mac: 02:00:00:00:01:01
          uplink: { interface: up0, ip: 192.168.77.10/24, mac: 02:00:00:00:77:10 }

        """;

    /// <summary>As <see cref="Node"/>, dual-stack.</summary>
    public const string DualStackNode = """
        node:
          name: node-a
          podCidr: 10.244.1.0/24
          podCidrV6: fd00:10:244:1::/64
          gatewayIp: 10.244.1.1
          mac: 02:00:00:00:01:01
          uplink: { interface: up0, ip: 192.168.77.10/24, ipV6: fd00:77::10/64, mac: 02:00:00:00:77:10 }

        """;

    /// <summary>The 1-based line holding <see cref="Marker"/>.</summary>
    public static int MarkedLine(string yaml)
    {
        string[] lines = yaml.Split('\n');
        int index = Array.FindIndex(lines, static l => l.Contains(Marker, StringComparison.Ordinal));
        Assert.True(index >= 0, "the snippet has no #! marker");
        Assert.Equal(index, Array.FindLastIndex(lines, static l => l.Contains(Marker, StringComparison.Ordinal)));
        return index + 1;
    }

    public static IReadOnlyList<ConfigError> Errors(string yaml)
    {
        ConfigResult result = NodeConfigLoader.Parse(yaml, "node.yaml");
        Assert.False(result.IsValid, "expected the config to be refused");
        return result.Errors;
    }

    public static NodeConfig Valid(string yaml)
    {
        ConfigResult result = NodeConfigLoader.Parse(yaml, "node.yaml");
        Assert.True(result.IsValid, string.Join("\n", result.Errors));
        return result.Config;
    }

    /// <summary>examples/node.yaml, found by walking up from the test binaries to the repository root.</summary>
    public static string ExamplePath()
    {
        for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "examples", "node.yaml");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new FileNotFoundException("examples/node.yaml not found above " + AppContext.BaseDirectory);
    }
}
