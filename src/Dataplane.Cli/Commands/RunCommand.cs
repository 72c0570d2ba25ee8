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
        config.Required = false;
        config.Description = "Node configuration (YAML): node, pods, routes, services, conntrack. Required without --kubeconfig or --objects; with them, what it leaves out of the node comes from the cluster.";
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
        var kubeconfig = new Option<FileInfo?>("--kubeconfig")
        {
            Description = "Follow the cluster's Services, EndpointSlices and Nodes from the API server this kubeconfig names. In a pod, --node-name alone uses the service account.",
        };
        var objects = new Option<FileInfo?>("--objects")
        {
            Description = "Take Services, EndpointSlices and Nodes from this file (`kubectl get svc,endpointslices,nodes -A -o yaml`) instead of the API server; SIGHUP re-reads it.",
        };
        var nodeName = new Option<string?>("--node-name")
        {
            Description = "This node's name in the cluster (default: $NODE_NAME): its Node object gives the pod CIDRs, the others the routes.",
        };
        var command = new Command("run", "Run the node daemon: a TAP per pod as eth0 in its namespace, every frame forwarded by the pipeline.")
        {
            config, netns, logLevel, logFormat, metricsAddress, kubeconfig, objects, nodeName,
        };
        command.SetAction(parse =>
        {
            var source = ClusterArguments.From(parse.GetValue(kubeconfig), parse.GetValue(objects), parse.GetValue(nodeName), parse.GetValue(config));
            if (source.Problem is { } problem)
            {
                Console.Error.WriteLine($"dataplane run: {problem}");
                return ConfigOption.ExitConfigError;
            }

            if (!Environment.IsPrivilegedProcess)
            {
                Console.Error.WriteLine("dataplane run: needs root (CAP_NET_ADMIN to create TAP devices and namespaces, CAP_NET_RAW for the uplink)");
                return 1;
            }

            using ILoggerFactory loggers = Logging.Create(parse.GetValue(logLevel), parse.GetValue(logFormat));
            // Signals are handled from here on: a stop while waiting for the API server ends the wait, nothing is made.
            using var stopping = new StopSignals();
            ClusterStart? cluster;
            try
            {
                cluster = source.Start(loggers, stopping.Token);
            }
            catch (OperationCanceledException)
            {
                return 0;
            }

            if (cluster is { Error: { } error })
            {
                // A kubeconfig or objects file that cannot be read is bad input, as a bad node.yaml is (and as `replay`
                // and `ingress` answer it).
                Console.Error.WriteLine($"dataplane run: {error}");
                return ConfigOption.ExitConfigError;
            }

            FileInfo? file = parse.GetValue(config);
            NodeConfig? node = ConfigOption.Load(file, cluster?.Identity, Console.Error);
            if (node is null)
            {
                return ConfigOption.ExitConfigError;
            }

            if (cluster is not null && node.Services.Count > 0)
            {
                Console.Error.WriteLine($"{file!.FullName}: services: come from {source.Describe()} when the node follows a cluster; remove them from the file");
                return ConfigOption.ExitConfigError;
            }

            return Run(node, new DaemonOptions(parse.GetValue(netns), file?.FullName, parse.GetValue(metricsAddress)), loggers,
                cluster is null ? null : (NodeDaemon daemon) => daemon.Follow(d => cluster.Follow(d, loggers)), stopping.Token);
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
