namespace Dataplane.Perf;

/// <summary>
/// Debian packages a benchmark installs for itself (as root, the way scripts/setup.sh does): what dpkg does not list as
/// installed is installed with `apt-get install -y`, services never started on the way.
/// </summary>
internal static class Packages
{
    private const string PolicyRcD = "/usr/sbin/policy-rc.d";

    /// <summary>
    /// Installs the missing ones among <paramref name="packages"/>, saying so on stdout as "<paramref name="tool"/>: ...".
    /// A package that ships a service (nginx) must not start one on the host: policy-rc.d forbids starting services
    /// during the install (unless the host has its own), and <paramref name="services"/> are disabled under systemd.
    /// </summary>
    /// <returns>The packages it installed (empty when all were there).</returns>
    public static IReadOnlyList<string> EnsureInstalled(string tool, IReadOnlyList<string> packages, IReadOnlyList<string> services)
    {
        List<string> missing = [.. packages.Where(p => !Installed(p))];
        if (missing.Count == 0)
        {
            return missing;
        }

        Console.WriteLine($"{tool}: installing {string.Join(' ', missing)} (apt-get install -y)");
        bool ownPolicy = !File.Exists(PolicyRcD);
        if (ownPolicy)
        {
            File.WriteAllText(PolicyRcD, "#!/bin/sh\nexit 101\n");
            File.SetUnixFileMode(PolicyRcD, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead |
                UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        }

        try
        {
            Shell.Run(["env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "update", "-qq"], TimeSpan.FromMinutes(5));
            Shell.Run(["env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "install", "-y", "-qq", "--no-install-recommends", .. missing],
                TimeSpan.FromMinutes(15));
        }
        finally
        {
            if (ownPolicy)
            {
                File.Delete(PolicyRcD);
            }
        }

        if (Directory.Exists("/run/systemd/system"))
        {
            foreach (string service in services)
            {
                Shell.Cleanup("systemctl", "disable", "-q", service);
            }
        }

        return missing;
    }

    /// <summary>"package version" as dpkg has it, or "package (not installed)".</summary>
    public static string Version(string package) =>
        Shell.Capture(["dpkg-query", "-W", "-f=${Package} ${Version}", package]) is (0, var version, _) ? version : $"{package} (not installed)";

    private static bool Installed(string package) =>
        Shell.Capture(["dpkg-query", "-W", "-f=${Status}", package]) is (0, var status, _) && status.Contains("install ok installed", StringComparison.Ordinal);
}
