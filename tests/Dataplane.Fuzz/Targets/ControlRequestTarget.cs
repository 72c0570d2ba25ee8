using System.Text;
using System.Text.Json;
using Dataplane.Config;
using Dataplane.Io.Pcap;
using Dataplane.Packets;
using Dataplane.Protocol;
using Dataplane.Replay;

namespace Dataplane.Fuzz.Targets;

/// <summary>
/// A control-socket request as the daemon reads it (ControlServer: the first line, JSON with replay's options) and
/// through the source-generated context the CNI plugin writes requests with, then the parsers the commands run on the
/// request's text before touching the daemon's state: the conntrack filter's address, service-apply's YAML
/// (validated against a node, as `ctl service apply` is) and a trace or capture filter (compiled by libpcap).
/// Malformed JSON must come out as a <see cref="JsonException"/>, which the server answers as an error; any other
/// exception would reach the server's "internal error" path. The daemon's command dispatch itself is not run: it
/// needs a running daemon (TAPs, workers).
/// </summary>
public static class ControlRequestTarget
{
    public static void Run(byte[] input)
    {
        int newline = Array.IndexOf(input, (byte)'\n');
        string line = Encoding.UTF8.GetString(input, 0, newline < 0 ? input.Length : newline);
        if (line.Length == 0)
        {
            return;
        }

        ControlRequest? request;
        try
        {
            request = JsonSerializer.Deserialize<ControlRequest>(line, ReplayRun.JsonOptions);
            _ = JsonSerializer.Deserialize(line, ProtocolJson.Default.ControlRequest);
        }
        catch (JsonException)
        {
            return;
        }

        if (request is null)
        {
            return;
        }

        if (request.Ip is not null)
        {
            _ = IpAddress.TryParse(request.Ip, out _);
        }

        if (request.Yaml is not null)
        {
            _ = NodeConfigLoader.ParseServices(request.Yaml, "ctl service apply", PipelineTarget.Nodes[0]);
        }

        if (request.Filter is not null && PcapFilter.TryCompile(request.Filter, out PcapFilter? filter, out _))
        {
            filter.Dispose();
        }
    }
}
