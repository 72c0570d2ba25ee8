namespace Dataplane.Cni;

/// <summary>
/// The spec versions this plugin speaks, and how two version lists meet. 0.4.0 is the oldest with CHECK and prevResult
/// on DEL (older configs would need behaviour we do not implement); 1.1.0 adds STATUS and GC.
/// </summary>
internal static class CniVersions
{
    public const string Latest = "1.1.0";

    /// <summary>The first version with GC and STATUS.</summary>
    public const string GcAndStatus = "1.1.0";

    public static readonly IReadOnlyList<string> Supported = ["0.4.0", "1.0.0", Latest];

    public static bool IsSupported(string? version) => version is not null && Supported.Contains(version);

    /// <summary>"0.4.0, 1.0.0, 1.1.0": for messages.</summary>
    public static string SupportedList => string.Join(", ", Supported);

    /// <summary>a &lt; b: -1, equal: 0, a &gt; b: 1; a version that is not major.minor.patch sorts below every real one.</summary>
    public static int Compare(string a, string b) => Key(a).CompareTo(Key(b));

    /// <summary>
    /// The highest version both we and another plugin speak that is not above <paramref name="atMost"/> (what the
    /// config asked for), or null: what to hand an IPAM plugin that does not know the config's own version.
    /// </summary>
    public static string? HighestCommon(IEnumerable<string> theirs, string atMost) =>
        Supported.Where(v => theirs.Contains(v) && Compare(v, atMost) <= 0).MaxBy(Key);

    /// <summary>0.4.0 results carry "version": "4" or "6" on each IP; 1.0.0 dropped it.</summary>
    public static bool HasIpVersionField(string version) => Compare(version, "1.0.0") < 0;

    /// <summary>The interface "mtu" field of a result appeared in 1.1.0.</summary>
    public static bool HasInterfaceMtu(string version) => Compare(version, "1.1.0") >= 0;

    private static (int, int, int) Key(string version)
    {
        string[] parts = version.Split('.');
        return parts.Length == 3 && int.TryParse(parts[0], out int major) && int.TryParse(parts[1], out int minor) && int.TryParse(parts[2], out int patch)
            ? (major, minor, patch)
            : (-1, -1, -1);
    }
}

/// <summary>The VERSION answer (ours, and what we read from an IPAM plugin's VERSION).</summary>
internal sealed record VersionResult(string CniVersion, IReadOnlyList<string> SupportedVersions);
