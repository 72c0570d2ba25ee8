using System.Text.Json;
using System.Text.Json.Serialization;

namespace Dataplane.Ingress.Control;

/// <summary>The control endpoint's JSON: camelCase, enums as names, as the daemon's control protocol writes them.</summary>
public static class IngressJson
{
    public static JsonSerializerOptions Options { get; } = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter() },
        WriteIndented = false,
    };
}
