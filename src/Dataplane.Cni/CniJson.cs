using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Dataplane.Cni;

/// <summary>
/// Source-generated JSON for the CNI side (config, results, errors, VERSION), the only kind NativeAOT keeps. Property
/// names match case-insensitively, as Go's encoding/json does, since configs and IPAM results come from Go tools;
/// output is indented like libcni's PrintResult and leaves nulls out.
/// </summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    PropertyNameCaseInsensitive = true,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    WriteIndented = true)]
[JsonSerializable(typeof(NetConf))]
[JsonSerializable(typeof(CniResult))]
[JsonSerializable(typeof(CniError))]
[JsonSerializable(typeof(VersionResult))]
internal sealed partial class CniJson : JsonSerializerContext
{
    /// <summary>
    /// For what we print: messages keep their quotes and apostrophes readable (the default encoder writes \u0027 for an
    /// apostrophe, meant for JSON embedded in HTML; runtimes parse this as plain JSON and log it as text).
    /// Made on first use: static initializers of a partial class run in no defined order across its files, so one
    /// here could see the generated <see cref="Default"/> still null.
    /// </summary>
    public static CniJson Output => s_output ??= new(new JsonSerializerOptions(Default.Options) { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });

    private static CniJson? s_output;
}
