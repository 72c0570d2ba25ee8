using System.ComponentModel;
using System.Diagnostics;
using System.Text.Json;

namespace Dataplane.Cni;

/// <summary>
/// The delegated IPAM plugin (SPEC.md section 4): found on CNI_PATH, run with our environment and the same
/// configuration, its stderr passed on to ours. A 1.1.0 config meets IPAM plugins that stop at 1.0.0 (Debian's
/// host-local 1.1.1 does): for those the plugin asks VERSION first and hands over the config with the highest version
/// both speak (1.0.0 there, whose result has the same shape; we read 0.4.0 results too). Older configs go as they are:
/// released IPAM plugins speak them, and one that does not says so with its own error 1, which we pass on.
/// </summary>
internal sealed class IpamPlugin(string type, CniEnvironment environment, TextWriter stderr)
{
    /// <summary>host-local takes a file lock; a minute without an answer means it is stuck, not busy.</summary>
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(60);

    private string? _path;
    private IReadOnlyList<string>? _versions;

    public string Type { get; } = type;

    /// <summary>
    /// The config text to hand the plugin for <paramref name="conf"/>: its own, or with a version the plugin speaks.
    /// Also makes sure the plugin is there, so a missing one fails before anything was done.
    /// </summary>
    public string ConfigFor(NetConf conf)
    {
        Find();
        string version = conf.CniVersion!;
        if (version != CniVersions.Latest || Supports(version))
        {
            return conf.Text;
        }

        string? common = CniVersions.HighestCommon(SupportedVersions(), version)
            ?? throw new CniException(CniErrorCode.IncompatibleVersion,
                $"IPAM plugin {Type} supports CNI {string.Join(", ", SupportedVersions())}, none of which this plugin ({CniVersions.SupportedList}) can use with a {version} config");
        stderr.WriteLine($"dataplane-cni: IPAM plugin {Type} does not support CNI {version}; calling it with cniVersion {common}");
        return conf.TextWithVersion(common);
    }

    /// <summary>Whether the plugin's VERSION lists <paramref name="version"/> (asked once per invocation).</summary>
    public bool Supports(string version) => SupportedVersions().Contains(version);

    public CniResult Add(string config)
    {
        string output = Run("ADD", config);
        try
        {
            return JsonSerializer.Deserialize(output, CniJson.Default.CniResult)
                ?? throw new CniException(CniErrorCode.IpamFailed, $"IPAM plugin {Type} printed null for ADD");
        }
        catch (JsonException e)
        {
            throw new CniException(CniErrorCode.IpamFailed, $"IPAM plugin {Type} printed an unreadable ADD result: {e.Message}", output);
        }
    }

    /// <summary>DEL, CHECK, GC, STATUS: success is exit 0; the output does not matter.</summary>
    public void Run(CniCommand command, string config) => Run(command.ToString().ToUpperInvariant(), config);

    /// <summary>
    /// Releases the address its ADD gave after our ADD failed later (SPEC.md section 4: "execute again with DEL before
    /// returning failure"). Its own failure is only reported on stderr: the ADD's error is what the runtime needs.
    /// </summary>
    public void ReleaseAfterFailedAdd(string config)
    {
        try
        {
            Run("DEL", config);
        }
        catch (CniException e)
        {
            stderr.WriteLine($"dataplane-cni: releasing the address after the failed ADD failed too: {e.Message}");
        }
    }

    private IReadOnlyList<string> SupportedVersions()
    {
        if (_versions is null)
        {
            string output = Run("VERSION", $$"""{"cniVersion":"{{CniVersions.Latest}}"}""");
            try
            {
                _versions = JsonSerializer.Deserialize(output, CniJson.Default.VersionResult)?.SupportedVersions ?? [];
            }
            catch (JsonException e)
            {
                throw new CniException(CniErrorCode.IpamFailed, $"IPAM plugin {Type} printed an unreadable VERSION answer: {e.Message}", output);
            }
        }

        return _versions;
    }

    private string Find()
    {
        _path ??= environment.Path.Select(dir => System.IO.Path.Combine(dir, Type)).FirstOrDefault(File.Exists)
            ?? throw new CniException(CniErrorCode.IpamFailed,
                $"IPAM plugin {Type} not found in {CniEnvironment.PathVariable} ({string.Join(":", environment.Path)})");
        return _path;
    }

    /// <summary>Runs the plugin with <paramref name="command"/> and returns its stdout; a non-zero exit becomes an error (see <see cref="Failure"/>).</summary>
    private string Run(string command, string config)
    {
        var start = new ProcessStartInfo(Find())
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };

        // "The delegated plugin must receive all the same environment variables" (SPEC.md section 4): exactly ours.
        start.Environment.Clear();
        foreach ((string name, string value) in environment.Variables)
        {
            start.Environment[name] = value;
        }

        start.Environment[CniEnvironment.CommandVariable] = command;

        using var process = new Process { StartInfo = start };
        try
        {
            process.Start();
        }
        catch (Win32Exception e)
        {
            throw new CniException(CniErrorCode.IpamFailed, $"IPAM plugin {Type} ({start.FileName}) could not be started: {e.Message}");
        }

        Task<string> output = process.StandardOutput.ReadToEndAsync();
        Task<string> errors = process.StandardError.ReadToEndAsync();
        try
        {
            process.StandardInput.Write(config);
            process.StandardInput.Close();
        }
        catch (IOException)
        {
            // It exited without reading its config; its exit code and output say why.
        }

        if (!process.WaitForExit(s_timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new CniException(CniErrorCode.IpamFailed, $"IPAM plugin {Type} did not finish {command} within {s_timeout.TotalSeconds:0} s; killed it");
        }

        string stdout = output.GetAwaiter().GetResult();
        string text = errors.GetAwaiter().GetResult();
        if (text.Length > 0)
        {
            stderr.Write(text);
        }

        if (process.ExitCode != 0)
        {
            throw Failure(command, process.ExitCode, stdout, text);
        }

        return stdout;
    }

    /// <summary>The plugin's own error object (code, msg, details) carried into ours, or whatever it printed.</summary>
    private CniException Failure(string command, int exitCode, string stdout, string stderrText)
    {
        CniError? error = null;
        try
        {
            error = JsonSerializer.Deserialize(stdout, CniJson.Default.CniError);
        }
        catch (JsonException)
        {
            // Not an error object; fall back to what it printed.
        }

        if (error?.Msg is { } msg)
        {
            string details = $"IPAM plugin error code {error.Code}" + (string.IsNullOrEmpty(error.Details) ? "" : $": {error.Details}");
            // Codes that mean the same for us pass through (a version mismatch; STATUS's not-available answers); any
            // other failure of the IPAM plugin is ours to report as 101.
            int code = error.Code is CniErrorCode.IncompatibleVersion or CniErrorCode.NotAvailable or CniErrorCode.LimitedConnectivity
                ? error.Code
                : CniErrorCode.IpamFailed;
            return new CniException(code, $"IPAM plugin {Type} failed on {command}: {msg}", details);
        }

        string printed = (stdout.Trim().Length > 0 ? stdout : stderrText).Trim();
        return new CniException(CniErrorCode.IpamFailed,
            $"IPAM plugin {Type} failed on {command} (exit {exitCode})" + (printed.Length > 0 ? $": {printed}" : ""));
    }
}
