using System.CommandLine;
using Dataplane.Daemon;
using Dataplane.Cli.Install;
using Dataplane.Config;
using Dataplane.Model;
using Dataplane.Packets;
using Microsoft.Extensions.Logging;

namespace Dataplane.Cli.Commands;

/// <summary>
/// `dataplane install-cni`: the DaemonSet's init container (deploy/kubernetes/dataplane.yaml). Copies dataplane-cni
/// into the host's CNI bin dir and writes the conflist with this node's pod CIDRs into its conf dir, each atomically
/// (<see cref="CniInstaller"/>), then exits. Bad input exits 2 and a failed install 1, with one line on stderr naming
/// the problem; neither leaves a partial file behind.
/// </summary>
internal static class InstallCniCommand
{
    public const int ExitBadInput = 2;

    public static Command Create()
    {
        var nodeName = new Option<string?>("--node-name")
        {
            Description = "This node's name, as the API server knows it (default: $NODE_NAME; the DaemonSet sets it from spec.nodeName).",
        };
        var podCidrs = new Option<string[]>("--pod-cidr")
        {
            Description = "This node's pod CIDR, as in its spec.podCIDRs (10.244.1.0/24); repeat it for the IPv6 one (dual stack). "
                + "Without it, they are read from the node's Node object on the API server.",
            AllowMultipleArgumentsPerToken = false,
        };
        var kubeconfig = new Option<FileInfo?>("--kubeconfig")
        {
            Description = "Kubeconfig for reading the node's pod CIDRs from the API server (default: the pod's service account).",
        };
        var binDir = new Option<string>("--bin-dir") { Description = "Where the runtime looks for CNI plugins.", DefaultValueFactory = _ => "/opt/cni/bin" };
        var confDir = new Option<string>("--conf-dir") { Description = "Where the runtime reads network configurations.", DefaultValueFactory = _ => "/etc/cni/net.d" };
        var cniBinary = new Option<string>("--cni-binary")
        {
            Description = "The dataplane-cni executable to install (default: the one next to this program).",
            DefaultValueFactory = _ => Path.Combine(AppContext.BaseDirectory, CniInstaller.PluginFileName),
        };
        var socket = new Option<string>("--socket")
        {
            Description = "The daemon's control socket, as dataplane.controlSocket in its node.yaml ({node} becomes the node name); the plugin connects there.",
            DefaultValueFactory = _ => DataplaneSettings.Default.ControlSocket,
        };
        var mtu = new Option<int?>("--mtu") { Description = "The pods' MTU (default: none in the conflist, so the daemon's node.mtu applies)." };
        var cniVersion = new Option<string>("--cni-version")
        {
            Description = "The conflist's cniVersion: 1.0.0 works with containerd 1.7; 1.1.0 (GC, STATUS) needs containerd 2.0 or CRI-O 1.30.",
            DefaultValueFactory = _ => CniConflist.DefaultCniVersion,
        };
        cniVersion.AcceptOnlyFromAmong([.. CniConflist.CniVersions]);
        var command = new Command("install-cni", "Install dataplane-cni and this node's conflist (its pod CIDRs) for the container runtime, then exit.")
        {
            nodeName, podCidrs, kubeconfig, binDir, confDir, cniBinary, socket, mtu, cniVersion,
        };
        command.SetAction(parse =>
        {
            // The invocation's writers (the console unless a test passes its own).
            TextWriter output = parse.InvocationConfiguration.Output, error = parse.InvocationConfiguration.Error;
            string name = parse.GetValue(nodeName) ?? Environment.GetEnvironmentVariable("NODE_NAME") ?? "";
            CniConflist conflist;
            try
            {
                string[] cidrs = parse.GetValue(podCidrs) is { Length: > 0 } given ? given : PodCidrsFromApi(name, parse.GetValue(kubeconfig));
                conflist = CniConflist.Create(name, cidrs, parse.GetValue(socket)!, parse.GetValue(mtu), parse.GetValue(cniVersion)!);
            }
            catch (CniInstallException ex)
            {
                return Fail(error, ex.Message, ExitBadInput);
            }

            CniInstallResult result;
            try
            {
                result = CniInstaller.Install(conflist, parse.GetValue(cniBinary)!, parse.GetValue(binDir)!, parse.GetValue(confDir)!);
            }
            catch (CniInstallException ex)
            {
                return Fail(error, ex.Message, 1);
            }

            output.WriteLine($"dataplane install-cni: installed {result.Binary} and {result.Config}: {conflist.Summary()}");
            foreach (string earlier in result.ConfigsBefore)
            {
                error.WriteLine($"dataplane install-cni: warning: {Path.Combine(Path.GetDirectoryName(result.Config)!, earlier)} sorts before {CniConflist.FileName}: the runtime uses the first network configuration, so pods will not get the dataplane until it is removed");
            }

            return 0;
        });
        return command;
    }

    /// <summary>
    /// The node's <c>spec.podCIDRs</c> from the API server (<paramref name="kubeconfig"/>, else the pod's service account),
    /// waited for as the daemon waits for them (the node may not be registered or allocated yet), until SIGTERM.
    /// </summary>
    private static string[] PodCidrsFromApi(string nodeName, FileInfo? kubeconfig)
    {
        if (nodeName.Length == 0)
        {
            throw new CniInstallException("no --pod-cidr and no --node-name (or NODE_NAME): name the node whose spec.podCIDRs to read");
        }

        using ILoggerFactory loggers = Logging.Create(LogLevel.Warning, LogFormat.Text, standardError: true);
        using var stopping = new StopSignals();
        try
        {
            ClusterStart start = ClusterStart.FromApi(kubeconfig?.FullName, nodeName, loggers, stopping.Token);
            if (start.Error is { } error)
            {
                throw new CniInstallException(error);
            }

            ClusterNodeIdentity node = start.Identity!;
            return [.. ((IpPrefix?[])[node.PodCidr, node.PodCidrV6]).OfType<IpPrefix>().Select(static c => c.ToString())];
        }
        catch (OperationCanceledException)
        {
            throw new CniInstallException($"stopped while waiting for node {nodeName}'s spec.podCIDRs");
        }
    }

    private static int Fail(TextWriter error, string message, int code)
    {
        error.WriteLine($"dataplane install-cni: {message}");
        return code;
    }
}
