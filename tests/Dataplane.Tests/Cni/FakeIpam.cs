using System.ComponentModel;
using System.Diagnostics;
using Dataplane.Tests.Infrastructure;

namespace Dataplane.Tests.Cni;

/// <summary>
/// A stand-in IPAM plugin: a shell script on CNI_PATH that records each call (command, stdin, environment) into its
/// directory and prints what the test put there for that command (<c>ADD.out</c>, exit code in <c>ADD.rc</c>).
/// The script is written once per test run and each test links to it: executing a file another thread may still
/// hold open for writing fails with ETXTBSY, and a link made after the one write never is.
/// </summary>
internal sealed class FakeIpam
{
    public const string Type = "fake-ipam";

    /// <summary>What a 1.x host-local prints for one IPv4 address (no routes, empty dns).</summary>
    public const string DefaultAddResult = """{"cniVersion":"1.0.0","ips":[{"address":"10.244.1.5/24","gateway":"10.244.1.1"}],"dns":{}}""";

    private static readonly Lazy<string> s_script = new(WriteScript);

    public FakeIpam(string directory)
    {
        Directory = directory;
        File.CreateSymbolicLink(Path.Combine(directory, Type), s_script.Value);
        Versions("0.4.0", "1.0.0", "1.1.0");
        Answer("ADD", DefaultAddResult);
    }

    /// <summary>The directory to put on CNI_PATH.</summary>
    public string Directory { get; }

    /// <summary>The commands it was run with, in order.</summary>
    public IReadOnlyList<string> Calls
    {
        get
        {
            string log = Path.Combine(Directory, "calls");
            return File.Exists(log) ? File.ReadAllLines(log) : [];
        }
    }

    public void Answer(string command, string stdout, int exitCode = 0)
    {
        File.WriteAllText(Path.Combine(Directory, $"{command}.out"), stdout);
        File.WriteAllText(Path.Combine(Directory, $"{command}.rc"), exitCode.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    /// <summary>An error object on stdout and exit 1, as a libcni plugin fails.</summary>
    public void Fail(string command, int code, string msg) =>
        Answer(command, System.Text.Json.JsonSerializer.Serialize(new { code, msg }), 1);

    /// <summary>What its VERSION answers.</summary>
    public void Versions(params string[] versions) =>
        Answer("VERSION", System.Text.Json.JsonSerializer.Serialize(new { cniVersion = versions[^1], supportedVersions = versions }));

    /// <summary>The config it last got for <paramref name="command"/>.</summary>
    public string StdinOf(string command) => File.ReadAllText(Path.Combine(Directory, $"stdin.{command}"));

    /// <summary>The environment it last ran with for <paramref name="command"/>, as NAME=value lines.</summary>
    public IReadOnlyList<string> EnvironmentOf(string command) => File.ReadAllLines(Path.Combine(Directory, $"env.{command}"));

    private static string WriteScript()
    {
        string directory = System.IO.Directory.CreateTempSubdirectory("dpt-cni-ipam-").FullName;
        AppDomain.CurrentDomain.ProcessExit += (_, _) => System.IO.Directory.Delete(directory, recursive: true);
        string script = Path.Combine(directory, "fake-ipam.sh");
        File.WriteAllText(script, """
            #!/bin/sh
            # Fake IPAM plugin (tests/Dataplane.Tests/Cni/FakeIpam.cs): record the call, answer what the test prepared.
            dir=${0%/*}
            cmd=$CNI_COMMAND
            cat > "$dir/stdin.$cmd"
            env > "$dir/env.$cmd"
            echo "$cmd" >> "$dir/calls"
            if [ -f "$dir/$cmd.out" ]; then cat "$dir/$cmd.out"; fi
            if [ -f "$dir/$cmd.rc" ]; then exit "$(cat "$dir/$cmd.rc")"; fi
            exit 0

            """.ReplaceLineEndings("\n"));
        File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute);

        // Another thread's fork may still hold the write descriptor for a moment (until its exec closes it).
        Poll.Until(() => CanExecute(script, directory), TimeSpan.FromSeconds(10), "the fake IPAM script to be executable (ETXTBSY)");
        return script;
    }

    private static bool CanExecute(string script, string directory)
    {
        var start = new ProcessStartInfo(script) { RedirectStandardInput = true, RedirectStandardOutput = true, UseShellExecute = false };
        start.Environment["CNI_COMMAND"] = "PROBE";
        start.Environment["PATH"] = "/usr/bin:/bin";
        try
        {
            using Process process = Process.Start(start)!;
            process.StandardInput.Close();
            process.WaitForExit();
            return process.ExitCode == 0 && File.Exists(Path.Combine(directory, "calls"));
        }
        catch (Win32Exception)
        {
            return false;
        }
    }
}
