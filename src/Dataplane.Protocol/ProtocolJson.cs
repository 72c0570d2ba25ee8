using System.Text.Json;
using System.Text.Json.Serialization;

namespace Dataplane.Protocol;

/// <summary>
/// Source-generated JSON for the wire records, in the daemon's conventions (camelCase, nulls left out): what the
/// NativeAOT CNI plugin uses, since reflection-based serialization is trimmed away there.
/// </summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ControlRequest))]
[JsonSerializable(typeof(ControlResponse))]
[JsonSerializable(typeof(PodInfo))]
[JsonSerializable(typeof(PodCheckResult))]
[JsonSerializable(typeof(PodDeleteResult))]
[JsonSerializable(typeof(PodGcResult))]
[JsonSerializable(typeof(JsonElement))]
public sealed partial class ProtocolJson : JsonSerializerContext;
