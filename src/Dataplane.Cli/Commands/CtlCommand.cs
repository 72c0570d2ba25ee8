using Dataplane.Protocol;
using System.CommandLine;
using System.Text.Json;
using Dataplane.Config;
using Dataplane.Daemon;
using Dataplane.Model;

namespace Dataplane.Cli.Commands;

/// <summary>`dataplane ctl`: talks to a running daemon over its control socket.</summary>
internal static class CtlCommand
{
    public static Command Create()
    {
        var socket = new Option<string?>("--socket") { Description = "The daemon's control socket (default: from --config, or the only one under /run/dataplane).", Recursive = true };
        var config = new Option<FileInfo?>("--config", "-c") { Description = "The node config, to find its control socket.", Recursive = true };
        var json = new Option<bool>("--json") { Description = "Same as -o json.", Recursive = true };

        var ctl = new Command("ctl", "Inspect and change a running dataplane: status, ports, stats, services, conntrack, flows, metrics, trace, capture.") { socket, config, json, s_output };
        ctl.Subcommands.Add(Simple("status", "Node, uptime, workers, table sizes.", socket, config, json));
        ctl.Subcommands.Add(Simple("ports", "Per-port packet and byte counters.", socket, config, json, watch: true));
        ctl.Subcommands.Add(Simple("stats", "Every stage's counters and drop reasons.", socket, config, json, watch: true));
        ctl.Subcommands.Add(Simple("services", "Service ports, their backends and counters.", socket, config, json, watch: true));
        ctl.Subcommands.Add(Conntrack(socket, config, json));
        ctl.Subcommands.Add(Flows(socket, config, json));
        ctl.Subcommands.Add(Simple("metrics", "Every metric in Prometheus text format, as /metrics serves it (no --metrics-address needed).", socket, config, json));
        ctl.Subcommands.Add(Simple("health", "What /healthz (workers turning) and /readyz (pods attached, tables programmed) answer.", socket, config, json));
        ctl.Subcommands.Add(Trace(socket, config, json));
        ctl.Subcommands.Add(Capture(socket, config, json));
        ctl.Subcommands.Add(Service(socket, config, json));
        ctl.Subcommands.Add(Pod(socket, config, json));
        return ctl;
    }

    /// <summary>-o/--output on every ctl command: kubectl's json, yaml or wide (more columns); a table when absent.</summary>
    private static readonly Option<CtlFormat?> s_output = new("--output", "-o") { Description = "json, yaml or wide (a table with more columns); a table when absent.", Recursive = true };

    /// <summary>--watch on listings that change: reprint every second until Ctrl-C.</summary>
    private static readonly Option<bool> s_watch = new("--watch") { Description = "Reprint every second until Ctrl-C." };

    private static Command Simple(string name, string description, Option<string?> socket, Option<FileInfo?> config, Option<bool> json, bool watch = false)
    {
        var command = new Command(name, description);
        if (watch)
        {
            command.Options.Add(s_watch);
        }

        command.SetAction((parse, cancel) => SendAsync(parse, socket, config, json, new ControlRequest { Command = name }, cancel));
        return command;
    }

    private static Command Flows(Option<string?> socket, Option<FileInfo?> config, Option<bool> json)
    {
        var follow = new Option<bool>("--follow", "-f") { Description = "Print flow start and end events as they happen (like conntrack -E), until Ctrl-C." };
        var count = new Option<int?>("--count") { Description = "With --follow: stop after this many events." };
        var command = new Command("flows", "Tracked flows with their NAT; with --follow, their start and end as they happen.") { follow, count };
        command.Validators.Add(r =>
        {
            if (r.GetValue(count) is { } n && n < 1)
            {
                r.AddError($"--count {n} is out of range: it must be at least 1");
            }
        });
        command.SetAction((parse, cancel) => parse.GetValue(follow)
            ? FollowAsync(parse, socket, config, json, parse.GetValue(count), cancel)
            : SendAsync(parse, socket, config, json, new ControlRequest { Command = "flows", Count = 1000 }, cancel));
        return command;
    }

    private static Command Conntrack(Option<string?> socket, Option<FileInfo?> config, Option<bool> json)
    {
        var ip = new Option<string?>("--ip") { Description = "Only flows with this address (client, VIP or backend)." };
        var port = new Option<int?>("--port") { Description = "Only flows with this port on either side." };
        var flush = new Option<bool>("--flush") { Description = "Remove the matching flows." };
        var limit = new Option<int>("--limit") { Description = $"Most flows to list (1-{ControlArgumentRanges.MaxListedFlows}); the answer's next cursor continues with --after.", DefaultValueFactory = _ => 100 };
        var after = new Option<int?>("--after") { Description = "List from this cursor on: the 'next' a previous listing printed (pages through a large table)." };
        var command = new Command("conntrack", "List (or flush) tracked flows, optionally filtered, a page at a time.") { ip, port, flush, limit, after, s_watch };
        command.SetAction((parse, cancel) => SendAsync(parse, socket, config, json, new ControlRequest
        {
            Command = "conntrack", Ip = parse.GetValue(ip), Port = parse.GetValue(port), Flush = parse.GetValue(flush), Count = parse.GetValue(limit), After = parse.GetValue(after),
        }, cancel));
        return command;
    }

    private static Option<string?> FilterOption() => new("--filter", "-f")
    {
        Description = "A pcap-filter expression, as tcpdump takes (e.g. 'tcp port 80 and host 10.244.1.12'); only matching frames.",
    };

    private static Command Trace(Option<string?> socket, Option<FileInfo?> config, Option<bool> json)
    {
        var count = new Argument<int>("count") { Description = "Packets to trace.", DefaultValueFactory = _ => 10 };
        var seconds = new Option<double>("--seconds") { Description = "Wait at most this long for them.", DefaultValueFactory = _ => 10 };
        Option<string?> filter = FilterOption();
        var command = new Command("trace", "Trace the next N packets (matching --filter) and print each one's path through the stages.") { count, seconds, filter };
        command.SetAction(async (parse, cancel) =>
        {
            var request = new ControlRequest { Command = "trace", Count = parse.GetValue(count), Seconds = parse.GetValue(seconds), Filter = parse.GetValue(filter) };
            // -o json prints the packets as data: per packet its arrival, per stage its verdict, next stage, drop reason and detail.
            return await SendAsync(parse, socket, config, json, request, cancel).ConfigureAwait(false);
        });
        return command;
    }

    private static Command Capture(Option<string?> socket, Option<FileInfo?> config, Option<bool> json)
    {
        var port = new Argument<string?>("port") { Description = "A pod name or 'uplink' (or --all).", Arity = ArgumentArity.ZeroOrOne };
        var write = new Option<string>("--write", "-w") { Description = "The file to write, as tcpdump -w: '-' streams it to stdout (`| tshark -r -`).", Required = true };
        var all = new Option<bool>("--all") { Description = "Every port, into one pcapng with one interface per port, named after it." };
        Option<string?> filter = FilterOption();
        var count = new Option<int?>("--count") { Description = "Stop after this many frames." };
        var seconds = new Option<double>("--seconds") { Description = "Stop after this long.", DefaultValueFactory = _ => 10 };
        var command = new Command("capture", "Capture what a port (or every port) sends and receives, like tcpdump on an internal port: pcap, or pcapng with --all.")
        {
            port, write, all, filter, count, seconds,
        };
        command.Validators.Add(r =>
        {
            if ((r.GetValue(port) is null) == !r.GetValue(all))
            {
                r.AddError("capture takes a port or --all (not both)");
            }
        });
        command.SetAction((parse, cancel) => CaptureAsync(parse, socket, config, json, parse.GetValue(write)!, new ControlRequest
        {
            Command = "capture", PortName = parse.GetValue(port), All = parse.GetValue(all), Filter = parse.GetValue(filter),
            Count = parse.GetValue(count), Seconds = parse.GetValue(seconds),
        }, cancel));
        return command;
    }

    /// <summary>`ctl capture`: the daemon streams the capture; it goes to stdout ('-') or the file, and the summary to stderr or stdout.</summary>
    private static async Task<int> CaptureAsync(ParseResult parse, Option<string?> socket, Option<FileInfo?> config, Option<bool> json, string target, ControlRequest request, CancellationToken cancel)
    {
        if (BadArgument(request))
        {
            return ExitBadArgument;
        }

        bool toStdout = target == "-";
        TextWriter report = toStdout ? Console.Error : Console.Out;
        try
        {
            if (SocketPath(parse, socket, config) is not { } path)
            {
                return ConfigOption.ExitConfigError;
            }

            JsonDocument response;
            if (toStdout)
            {
                await using Stream stdout = Console.OpenStandardOutput();
                response = await ControlClient.CaptureAsync(path, request, stdout, cancel).ConfigureAwait(false);
            }
            else
            {
                try
                {
                    await using (var file = new FileStream(target, FileMode.Create, FileAccess.Write, FileShare.Read))
                    {
                        response = await ControlClient.CaptureAsync(path, request, file, cancel).ConfigureAwait(false);
                    }
                }
                catch (IOException)
                {
                    // No daemon: leave no empty file. (A daemon gone mid-capture leaves what it sent, as tcpdump would.)
                    if (new FileInfo(target) is { Exists: true, Length: 0 })
                    {
                        File.Delete(target);
                    }

                    throw;
                }

                if (!response.RootElement.GetProperty("ok").GetBoolean())
                {
                    File.Delete(target);
                }
            }

            using (response)
            {
                JsonElement root = response.RootElement;
                if (!root.GetProperty("ok").GetBoolean())
                {
                    Console.Error.WriteLine($"dataplane ctl capture: {root.GetProperty("error").GetString()}");
                    return 1;
                }

                JsonElement result = root.GetProperty("result");
                if (parse.GetValue(json))
                {
                    report.WriteLine(JsonSerializer.Serialize(result, new JsonSerializerOptions { WriteIndented = true }));
                }
                else
                {
                    CtlOutput.PrintCapture(result, toStdout ? "stdout" : target, report);
                }
            }

            return 0;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"dataplane ctl capture: {ex.Message}");
            return 1;
        }
    }

    private static Command Service(Option<string?> socket, Option<FileInfo?> config, Option<bool> json)
    {
        var file = new Option<FileInfo>("--file", "-f") { Description = "YAML with a `services:` list, as in the node config.", Required = true };
        var apply = new Command("apply", "Add or replace services at run time; other services and flows are not disturbed.") { file };
        apply.SetAction(async (parse, cancel) =>
        {
            FileInfo yaml = parse.GetValue(file)!;
            string text;
            try
            {
                text = await File.ReadAllTextAsync(yaml.FullName, cancel).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // A directory fails as "access denied" too; say what it is.
                Console.Error.WriteLine($"dataplane ctl service apply: {yaml.FullName}: {(Directory.Exists(yaml.FullName) ? "is a directory; expected a YAML file" : ex.Message)}");
                return ConfigOption.ExitConfigError;
            }

            return await SendAsync(parse, socket, config, json, new ControlRequest { Command = "service-apply", Yaml = text }, cancel).ConfigureAwait(false);
        });
        var name = new Argument<string>("name") { Description = "The service to delete." };
        var delete = new Command("delete", "Delete a service and the flows it balanced.") { name };
        delete.SetAction((parse, cancel) => SendAsync(parse, socket, config, json, new ControlRequest { Command = "service-delete", Name = parse.GetValue(name) }, cancel));
        return new Command("service", "Change services at run time.") { apply, delete };
    }

    /// <summary>`ctl pod add|del|list|show`: pods at run time, as the CNI plugin adds them (IPAM is the caller's: give the address).</summary>
    private static Command Pod(Option<string?> socket, Option<FileInfo?> config, Option<bool> json)
    {
        var name = new Argument<string>("name") { Description = "The pod's name (its port's name)." };
        var netns = new Option<string>("--netns") { Description = "Its network namespace: a name under /var/run/netns (made if absent, removed with the pod) or a path.", Required = true };
        var ip = new Option<string>("--ip") { Description = "Its IPv4 address with prefix length, inside the node's pod CIDR (10.244.1.20/24).", Required = true };
        var ip6 = new Option<string?>("--ip6") { Description = "Its IPv6 address with prefix length (needs node.podCidrV6)." };
        var mac = new Option<string?>("--mac") { Description = "Its MAC (default: 0a:58 and the IPv4 address)." };
        var mtu = new Option<int?>("--mtu") { Description = "Its MTU (default: node.mtu)." };
        var ifName = new Option<string>("--ifname") { Description = "The interface's name in the namespace.", DefaultValueFactory = _ => "eth0" };
        var add = new Command("add", "Attach a pod while the node runs: a TAP in its namespace with its address, MAC, MTU and default route.") { name, netns, ip, ip6, mac, mtu, ifName };
        add.SetAction((parse, cancel) =>
        {
            List<PodAddress> ips = [new(parse.GetValue(ip)!, null)];
            if (parse.GetValue(ip6) is { } v6)
            {
                ips.Add(new PodAddress(v6, null));
            }

            return SendAsync(parse, socket, config, json, new ControlRequest
            {
                Command = "pod-add",
                Pod = new PodRequest { Name = parse.GetValue(name), Netns = parse.GetValue(netns), Ips = ips, Mac = parse.GetValue(mac), Mtu = parse.GetValue(mtu), IfName = parse.GetValue(ifName)! },
            }, cancel);
        });
        var delName = new Argument<string>("name") { Description = "The pod to detach." };
        var del = new Command("del", "Detach a pod: its TAP, routes, MAC entry and flows go.") { delName };
        del.SetAction((parse, cancel) => SendAsync(parse, socket, config, json, new ControlRequest { Command = "pod-del", Pod = new PodRequest { Name = parse.GetValue(delName) } }, cancel));
        var list = new Command("list", "The pods: static (node.yaml) and added at run time.") { s_watch };
        list.SetAction((parse, cancel) => SendAsync(parse, socket, config, json, new ControlRequest { Command = "pod-list" }, cancel));
        var showName = new Argument<string>("name") { Description = "The pod to show." };
        var show = new Command("show", "One pod: port, namespace, addresses, MAC, MTU, worker, CNI container.") { showName };
        show.SetAction((parse, cancel) => SendAsync(parse, socket, config, json, new ControlRequest { Command = "pod-show", Name = parse.GetValue(showName) }, cancel));
        return new Command("pod", "Add, remove and list pods while the node runs.") { add, del, list, show };
    }

    /// <summary>The control socket to use, or null when --config does not load (its errors are printed).</summary>
    private static string? SocketPath(ParseResult parse, Option<string?> socket, Option<FileInfo?> config)
    {
        string? fromConfig = null;
        if (parse.GetValue(config) is { } file)
        {
            NodeConfig? node = ConfigOption.Load(file, Console.Error);
            if (node is null)
            {
                return null;
            }

            fromConfig = node.ControlSocketPath;
        }

        return ControlClient.ResolveSocket(parse.GetValue(socket), fromConfig);
    }

    private static async Task<int> SendAsync(ParseResult parse, Option<string?> socket, Option<FileInfo?> config, Option<bool> json, ControlRequest request, CancellationToken cancel)
    {
        if (BadArgument(request))
        {
            return ExitBadArgument;
        }

        try
        {
            if (SocketPath(parse, socket, config) is not { } path)
            {
                return ConfigOption.ExitConfigError;
            }

            CtlFormat? format = Format(parse, json);
            bool watch = parse.GetResult(s_watch) is not null && parse.GetValue(s_watch);
            using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
            do
            {
                using JsonDocument response = await ControlClient.SendAsync(path, request, cancel).ConfigureAwait(false);
                JsonElement root = response.RootElement;
                if (!root.GetProperty("ok").GetBoolean())
                {
                    Console.Error.WriteLine($"dataplane ctl {request.Command}: {root.GetProperty("error").GetString()}");
                    return 1;
                }

                if (watch && format is null or CtlFormat.Wide && !Console.IsOutputRedirected)
                {
                    Console.Write("\e[H\e[2J");
                }

                if (watch)
                {
                    Console.WriteLine(format is CtlFormat.Yaml ? "---" : format is null or CtlFormat.Wide ? $"# {DateTime.UtcNow:yyyy-MM-ddTHH:mm:ssZ}" : "");
                }

                CtlOutput.Write(request.Command, root.GetProperty("result"), format, Console.Out);
            }
            while (watch && await timer.WaitForNextTickAsync(cancel).ConfigureAwait(false));

            return 0;
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            return 0;
        }
        catch (IOException ex)
        {
            Console.Error.WriteLine($"dataplane ctl: {ex.Message}");
            return 1;
        }
    }

    /// <summary>`flows --follow`: one line (or JSON object, or YAML document) per event until Ctrl-C or --count.</summary>
    private static async Task<int> FollowAsync(ParseResult parse, Option<string?> socket, Option<FileInfo?> config, Option<bool> json, int? count, CancellationToken cancel)
    {
        try
        {
            if (SocketPath(parse, socket, config) is not { } path)
            {
                return ConfigOption.ExitConfigError;
            }

            CtlFormat? format = Format(parse, json);
            int seen = 0;
            bool first = true;
            await foreach (JsonDocument response in ControlClient.StreamAsync(path, new ControlRequest { Command = "flows", Follow = true }, cancel).ConfigureAwait(false))
            {
                using (response)
                {
                    JsonElement root = response.RootElement;
                    if (!root.GetProperty("ok").GetBoolean())
                    {
                        Console.Error.WriteLine($"dataplane ctl flows: {root.GetProperty("error").GetString()}");
                        return 1;
                    }

                    if (first)
                    {
                        // The daemon's "following" line: from here on every event is seen.
                        first = false;
                        Console.Error.WriteLine("following flow events (Ctrl-C to stop)");
                        continue;
                    }

                    CtlOutput.WriteFlowEvent(root.GetProperty("result"), format, Console.Out);
                    if (++seen == count)
                    {
                        return 0;
                    }
                }
            }

            Console.Error.WriteLine("dataplane ctl flows: the daemon closed the connection");
            return 1;
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            return 0;
        }
        catch (IOException ex)
        {
            Console.Error.WriteLine($"dataplane ctl: {ex.Message}");
            return 1;
        }
    }

    /// <summary>A number out of range (NaN, 1e300, -1...), as the daemon would refuse it: exit 2, like every bad input.</summary>
    private const int ExitBadArgument = 2;

    /// <summary>Checks the request's numbers before sending, so NaN or infinity never reaches the JSON writer; prints the problem.</summary>
    private static bool BadArgument(ControlRequest request)
    {
        if (ControlArgumentRanges.Problem(request) is not { } problem)
        {
            return false;
        }

        Console.Error.WriteLine($"dataplane ctl {request.Command}: {problem}");
        return true;
    }

    private static CtlFormat? Format(ParseResult parse, Option<bool> json) => parse.GetValue(s_output) ?? (parse.GetValue(json) ? CtlFormat.Json : null);
}
