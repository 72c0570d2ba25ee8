using System.Text.Json;
using Dataplane.Cli.Commands;

namespace Dataplane.Tests.Metrics;

/// <summary>`ctl -o yaml|wide` and the `flows --follow` line, from a daemon's JSON response (no daemon needed).</summary>
[Trait("Category", "unit")]
public sealed class CtlOutputTests
{
    private const string FlowEvent = """
        {"event":"new","time":"2026-11-29T20:00:01.5Z","flow":{"protocol":"udp","source":"10.244.1.11","sourcePort":40000,
         "destination":"10.96.9.11","destinationPort":53,"backend":"10.244.1.12","backendPort":5353,"snat":"port 33000",
         "state":"UNREPLIED","expiresInSeconds":29.9,"seenReply":false}}
        """;

    [Fact]
    public void Flow_events_print_like_conntrack_events_with_the_nat_and_wide_adds_the_time_and_snat()
    {
        using JsonDocument e = JsonDocument.Parse(FlowEvent);
        var text = new StringWriter();
        var wide = new StringWriter();

        CtlOutput.WriteFlowEvent(e.RootElement, null, text);
        CtlOutput.WriteFlowEvent(e.RootElement, CtlFormat.Wide, wide);

        Assert.Equal("[NEW] udp    10.244.1.11:40000 > 10.96.9.11:53 -> 10.244.1.12:5353  UNREPLIED", text.ToString().TrimEnd());
        Assert.Equal("20:00:01.500 [NEW] udp    10.244.1.11:40000 > 10.96.9.11:53 -> 10.244.1.12:5353 snat port 33000  UNREPLIED", wide.ToString().TrimEnd());
    }

    [Fact]
    public void Json_follow_output_is_one_compact_object_per_event_and_yaml_one_document_per_event()
    {
        using JsonDocument e = JsonDocument.Parse(FlowEvent);
        var json = new StringWriter();
        var yaml = new StringWriter();

        CtlOutput.WriteFlowEvent(e.RootElement, CtlFormat.Json, json);
        CtlOutput.WriteFlowEvent(e.RootElement, CtlFormat.Yaml, yaml);

        string line = Assert.Single(json.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal(5353, JsonDocument.Parse(line).RootElement.GetProperty("flow").GetProperty("backendPort").GetInt32());
        Assert.StartsWith("---\n", yaml.ToString(), StringComparison.Ordinal);
        var document = new YamlDotNet.Serialization.DeserializerBuilder().Build().Deserialize<Dictionary<string, object>>(yaml.ToString());
        Assert.Equal("new", document["event"]);
        Assert.Equal("10.244.1.12", ((Dictionary<object, object>)document["flow"])["backend"]);
    }
}
