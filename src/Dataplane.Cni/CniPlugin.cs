using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Dataplane.Cni;

/// <summary>
/// One plugin invocation, as libcni's skel shapes it: the CNI_* environment, then the config (syntax, version, keys),
/// then the command. Every failure, expected or not, leaves as the spec's error object on stdout with a non-zero exit;
/// nothing escapes as a stack trace. Takes the environment and streams as arguments so tests run it in-process.
/// </summary>
internal sealed class CniPlugin(DaemonTimeouts timeouts)
{
    public CniPlugin()
        : this(DaemonTimeouts.Default)
    {
    }

    /// <summary>Runs the command CNI_COMMAND names; returns the exit code (0, or 1 with the error object on stdout).</summary>
    public int Run(IReadOnlyDictionary<string, string> variables, TextReader stdin, TextWriter stdout, TextWriter stderr)
    {
        // Errors say the config's version once we know it is one we speak (SPEC.md: "the protocol version in use").
        string version = CniVersions.Latest;
        try
        {
            CniEnvironment environment = CniEnvironment.Parse(variables);
            string text = ReadAll(stdin);
            if (environment.Command == CniCommand.Version)
            {
                Write(stdout, new VersionResult(VersionAsked(text), CniVersions.Supported), CniJson.Output.VersionResult);
                return 0;
            }

            NetConf conf = NetConf.Parse(text);
            version = CheckVersion(conf.CniVersion, environment);
            conf.Validate();

            var cni = new CniInvocation(
                environment, conf, new DaemonClient(conf.Socket!, timeouts), timeouts, new IpamPlugin(conf.Ipam!.Type!, environment, stderr), stderr);
            switch (environment.Command)
            {
                case CniCommand.Add:
                    Write(stdout, AddCommand.Run(cni), CniJson.Output.CniResult);
                    break;
                case CniCommand.Del:
                    DelCommand.Run(cni);
                    break;
                case CniCommand.Check:
                    CheckCommand.Run(cni);
                    break;
                case CniCommand.Gc:
                    GcCommand.Run(cni);
                    break;
                case CniCommand.Status:
                    StatusCommand.Run(cni);
                    break;
            }

            return 0;
        }
        catch (CniException e)
        {
            return Fail(stdout, version, e.Code, e.Message, e.Details);
        }
        catch (DaemonUnreachableException e)
        {
            return Fail(stdout, version, CniErrorCode.TryAgainLater, e.Message, null);
        }
        catch (DaemonFailedException e)
        {
            return Fail(stdout, version, CniErrorCode.IoFailure, e.Message, null);
        }
        catch (Exception e)
        {
            return Fail(stdout, version, CniErrorCode.Internal, $"internal error ({e.GetType().Name}): {e.Message}", null);
        }
    }

    private static string ReadAll(TextReader stdin)
    {
        try
        {
            return stdin.ReadToEnd();
        }
        catch (IOException e)
        {
            throw new CniException(CniErrorCode.IoFailure, $"reading the network config from stdin failed: {e.Message}");
        }
    }

    /// <summary>The config's version if we speak it (and it has the command), else error 1 listing ours.</summary>
    private static string CheckVersion(string? version, CniEnvironment environment)
    {
        if (!CniVersions.IsSupported(version))
        {
            throw new CniException(CniErrorCode.IncompatibleVersion,
                $"network config cniVersion \"{version}\" is not supported; this plugin supports {CniVersions.SupportedList}");
        }

        if (environment.Command is CniCommand.Gc or CniCommand.Status && CniVersions.Compare(version!, CniVersions.GcAndStatus) < 0)
        {
            throw new CniException(CniErrorCode.IncompatibleVersion,
                $"{environment.CommandName} needs cniVersion {CniVersions.GcAndStatus} or later; the network config says {version}");
        }

        return version!;
    }

    /// <summary>VERSION echoes the version it was asked with (SPEC.md section 5), the latest when stdin names none.</summary>
    private static string VersionAsked(string stdin)
    {
        try
        {
            using JsonDocument document = JsonDocument.Parse(stdin);
            return document.RootElement is { ValueKind: JsonValueKind.Object } root
                && root.TryGetProperty("cniVersion", out JsonElement asked) && asked.ValueKind == JsonValueKind.String
                ? asked.GetString()!
                : CniVersions.Latest;
        }
        catch (JsonException)
        {
            return CniVersions.Latest; // libcni ignores stdin on VERSION; so do we when it is not JSON
        }
    }

    private static int Fail(TextWriter stdout, string version, int code, string message, string? details)
    {
        Write(stdout, new CniError(version, code, message, string.IsNullOrEmpty(details) ? null : details), CniJson.Output.CniError);
        return 1;
    }

    private static void Write<T>(TextWriter stdout, T value, JsonTypeInfo<T> type)
    {
        stdout.WriteLine(JsonSerializer.Serialize(value, type));
        stdout.Flush();
    }
}
