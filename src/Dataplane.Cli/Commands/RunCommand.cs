using System.CommandLine;
using System.Runtime.InteropServices;
using Dataplane.Config;
using Dataplane.Daemon;
using Dataplane.Model;
using Microsoft.Extensions.Logging;

namespace Dataplane.Cli.Commands;

/// <summary>`dataplane run`: the node daemon, until SIGTERM or SIGINT; SIGHUP reloads services.</summary>
internal static class RunCommand
{
    public static Command Create()
    {
        Option<FileInfo> config = ConfigOption.Create();
        var netns = new Option<string?>("--netns")
        {
            Description = "Run in this network namespace (a name under /var/run/netns, or a path) instead of the current one: TAPs are created and the uplink opened there.",
        };
        var logLevel = new Option<LogLevel>("--log-level") { Description = "Trace, Debug, Information, Warning, Error.", DefaultValueFactory = _ => LogLevel.Information };
        var logFormat = new Option<LogFormat>("--log-format") { Description = "text (one line per event) or json (one JSON object per line).", DefaultValueFactory = _ => LogFormat.Text };
        var metricsAddress = new Option<string?>("--metrics-address")
        {
            Description = "Serve /metrics (Prometheus), /healthz and /readyz over HTTP on IP:PORT, e.g. 127.0.0.1:9641 (overrides dataplane.metricsAddress; off by default).",
        };
        metricsAddress.Validators.Add(r =>
        {
            if (r.GetValue(metricsAddress) is { } address && DataplaneSettings.MetricsAddressProblem(address) is { } problem)
            {
                r.AddError($"--metrics-address: {problem}");
            }
        });
        var command = new Command("run", "Run the node daemon: a TAP per pod as eth0 in its namespace, every frame forwarded by the pipeline.")
        {
            config, netns, logLevel, logFormat, metricsAddress,
        };
        command.SetAction(parse =>
        {
            FileInfo file = parse.GetValue(config)!;
            NodeConfig? node = ConfigOption.Load(file, Console.Error);
            if (node is null)
            {
                return ConfigOption.ExitConfigError;
            }

            if (!Environment.IsPrivilegedProcess)
            {
                Console.Error.WriteLine("dataplane run: needs root (CAP_NET_ADMIN to create TAP devices and namespaces, CAP_NET_RAW for the uplink)");
                return 1;
            }

            using ILoggerFactory loggers = Logging.Create(parse.GetValue(logLevel), parse.GetValue(logFormat));
            return Run(node, new DaemonOptions(parse.GetValue(netns), file.FullName, parse.GetValue(metricsAddress)), loggers);
        });
        return command;
    }

    /// <summary>Starts the daemon and serves until a stop signal; also what `demo` uses.</summary>
    public static int Run(NodeConfig node, DaemonOptions options, ILoggerFactory loggers, Action<NodeDaemon>? started = null, CancellationToken stop = default)
    {
        NodeDaemon daemon;
        try
        {
            daemon = NodeDaemon.Start(node, options, loggers);
        }
        catch (DaemonStartException ex)
        {
            Console.Error.WriteLine(ex.Message);
            return 1;
        }

        // The signal handlers outlive the daemon: a second SIGTERM while it cleans up must not kill the
        // process halfway (the default action), or TAPs and namespaces would be left behind.
        using var stopping = new StopSignals(stop);
        using PosixSignalRegistration hangup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, context =>
        {
            context.Cancel = true;
            if (!stopping.IsStopping)
            {
                daemon.Reload();
            }
        });
        using (daemon)
        {
            started?.Invoke(daemon);
            stopping.Token.WaitHandle.WaitOne();
        }

        return 0;
    }
}
