using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Dataplane.Cni;

/// <summary>
/// The request configuration on stdin:
/// <code>
/// {"cniVersion":"1.1.0","name":"dataplane","type":"dataplane-cni","socket":"/run/dataplane/node-a.sock","mtu":1500,
///  "ipam":{"type":"host-local","ranges":[[{"subnet":"10.244.1.0/24","gateway":"10.244.1.1"}]]},
///  "dns":{"nameservers":["10.96.0.10"]}}
/// </code>
/// plus what the runtime inserts (prevResult, runtimeConfig, args, cni.dev/valid-attachments). Only the keys the plugin
/// acts on are modelled; the IPAM plugin receives the whole text (<see cref="Text"/>) unchanged, as SPEC.md section 4
/// requires, so its own keys (ipam.*, args.cni.ips, runtimeConfig.ips) reach it untouched.
/// </summary>
internal sealed record NetConf
{
    /// <summary>The MTU range the daemon accepts for pod ports (node.mtu's); IPv6 pods need 1280, which the daemon checks.</summary>
    public const int MinMtu = 576;
    public const int MaxMtu = 65535;

    public string? CniVersion { get; init; }

    public string? Name { get; init; }

    public string? Type { get; init; }

    /// <summary>The daemon's control socket (dataplane.controlSocket in node.yaml).</summary>
    public string? Socket { get; init; }

    /// <summary>The pod interface's MTU; the node's when absent.</summary>
    public int? Mtu { get; init; }

    public IpamConf? Ipam { get; init; }

    public CniDns? Dns { get; init; }

    /// <summary>Well known (SPEC.md section 1); refused when true, since the dataplane does no masquerading for pods.</summary>
    public bool IpMasq { get; init; }

    public CniResult? PrevResult { get; init; }

    public RuntimeConf? RuntimeConfig { get; init; }

    /// <summary>GC: the attachments the runtime still has.</summary>
    [JsonPropertyName("cni.dev/valid-attachments")]
    public IReadOnlyList<ValidAttachment>? ValidAttachments { get; init; }

    /// <summary>stdin as received: what delegated plugins get.</summary>
    [JsonIgnore]
    public string Text { get; init; } = "";

    /// <summary>
    /// Reads stdin: not JSON is error 6 with the line and byte where it broke; a known key of the wrong type is error 7
    /// naming the key. Nothing is validated yet (see <see cref="Validate"/>): the version is checked first.
    /// </summary>
    public static NetConf Parse(string text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            throw new CniException(CniErrorCode.DecodingFailure, "stdin is empty: expected the network configuration as JSON");
        }

        JsonNode? root;
        try
        {
            // A key given twice would be read as its last value here but fail TextWithVersion's rewrite later (found by
            // scripts/fuzz.sh cni: tests/Dataplane.Fuzz/corpus/cni/crash-duplicate-key): refused up front instead.
            root = JsonNode.Parse(text, documentOptions: new JsonDocumentOptions { AllowDuplicateProperties = false });
        }
        catch (JsonException e)
        {
            throw new CniException(CniErrorCode.DecodingFailure, $"stdin is not valid JSON: {Where(e)}: {WithoutPosition(e.Message)}");
        }

        if (root is not JsonObject)
        {
            throw new CniException(CniErrorCode.DecodingFailure, "stdin is not a JSON object: expected the network configuration as {...}");
        }

        NetConf? conf;
        try
        {
            conf = root.Deserialize(CniJson.Default.NetConf);
        }
        catch (JsonException e)
        {
            // Syntax was fine, so this is a known key holding the wrong kind of value: say which key.
            string key = e.Path is { Length: > 2 } path ? path[2..] : "(top level)";
            throw new CniException(CniErrorCode.InvalidNetworkConfig, $"network config key {key} has the wrong type: {WithoutPosition(e.Message)}");
        }

        return conf! with { Text = text };
    }

    /// <summary>The checks every command needs (error 7 naming the key, 2 for a field we cannot honour).</summary>
    public void Validate()
    {
        if (string.IsNullOrEmpty(Name))
        {
            throw new CniException(CniErrorCode.InvalidNetworkConfig, "network config has no name");
        }

        if (!CniNames.IsValid(Name))
        {
            throw new CniException(CniErrorCode.InvalidNetworkConfig, $"network config name \"{Name}\" is invalid: {CniNames.Rule}");
        }

        if (string.IsNullOrEmpty(Socket))
        {
            throw new CniException(CniErrorCode.InvalidNetworkConfig, "network config has no socket: set \"socket\" to the daemon's control socket (dataplane.controlSocket, e.g. /run/dataplane/node-a.sock)");
        }

        if (!Path.IsPathRooted(Socket))
        {
            throw new CniException(CniErrorCode.InvalidNetworkConfig, $"network config socket \"{Socket}\" must be an absolute path");
        }

        if (Mtu is { } mtu && mtu is < MinMtu or > MaxMtu)
        {
            throw new CniException(CniErrorCode.InvalidNetworkConfig, $"network config mtu {mtu} is out of range {MinMtu}..{MaxMtu}");
        }

        if (string.IsNullOrEmpty(Ipam?.Type))
        {
            throw new CniException(CniErrorCode.InvalidNetworkConfig, "network config has no ipam.type: name the IPAM plugin (e.g. \"ipam\": {\"type\": \"host-local\", ...})");
        }

        if (Ipam.Type.Contains('/', StringComparison.Ordinal))
        {
            throw new CniException(CniErrorCode.InvalidNetworkConfig, $"network config ipam.type \"{Ipam.Type}\" must be a plugin name found on CNI_PATH, not a path");
        }

        if (IpMasq)
        {
            throw new CniException(CniErrorCode.UnsupportedField, "network config ipMasq=true is not supported: the dataplane does not masquerade pod traffic (remove the key or set it to false)");
        }
    }

    /// <summary>This config with another cniVersion (for an IPAM plugin that does not speak ours); every other key is kept.</summary>
    public string TextWithVersion(string version)
    {
        var root = (JsonObject)JsonNode.Parse(Text)!;
        root["cniVersion"] = version;
        return root.ToJsonString();
    }

    /// <summary>"line 1, byte 17" from a JsonException (its numbers count from zero).</summary>
    private static string Where(JsonException e) => $"line {(e.LineNumber ?? 0) + 1}, byte {(e.BytePositionInLine ?? 0) + 1}";

    /// <summary>System.Text.Json appends " Path: $ | LineNumber: 0 | BytePositionInLine: 9." to its messages; we say where ourselves.</summary>
    private static string WithoutPosition(string message)
    {
        int cut = message.IndexOf(" Path: ", StringComparison.Ordinal);
        if (cut < 0)
        {
            cut = message.IndexOf(" LineNumber: ", StringComparison.Ordinal);
        }

        return (cut < 0 ? message : message[..cut]).TrimEnd();
    }
}

/// <summary>The `ipam` key: the plugin to delegate to; the rest is that plugin's business.</summary>
internal sealed record IpamConf(string? Type);

/// <summary>runtimeConfig: the one capability we act on is `mac` (the runtime's requested MAC for the pod interface).</summary>
internal sealed record RuntimeConf(string? Mac);

/// <summary>One entry of `cni.dev/valid-attachments` (GC), with the spec's key spellings.</summary>
internal sealed record ValidAttachment(
    [property: JsonPropertyName("containerID")] string ContainerId,
    [property: JsonPropertyName("ifname")] string IfName);
