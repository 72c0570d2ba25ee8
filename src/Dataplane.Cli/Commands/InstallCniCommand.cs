using System.CommandLine;
using Dataplane.Cli.Install;
using Dataplane.Model;

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
                + "Required for now: reading spec.podCIDRs from the API server is not wired yet.",
            AllowMultipleArgumentsPerToken = false,
        };
        var kubeconfig = new Option<FileInfo?>("--kubeconfig")
        {
            Description = "Kubeconfig for reading the node's pod CIDRs from the API server (default: the pod's service account). Not used yet.",
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
    /// THE SEAM for the API lookup. Without --pod-cidr, the node's pod CIDRs are to come from
    /// <c>GET /api/v1/nodes/{name}</c> (its <c>spec.podCIDRs</c>), through KubernetesClient with
    /// <paramref name="kubeconfig"/> or else the in-cluster service account (ApiResources.Nodes grants <c>get</c>).
    /// Not wired yet, so it refuses; wired, it returns the CIDRs (and refuses a node that has none yet: the node
    /// IPAM controller has not assigned them).
    /// </summary>
    private static string[] PodCidrsFromApi(string nodeName, FileInfo? kubeconfig)
    {
        _ = kubeconfig;
        throw new CniInstallException($"no --pod-cidr given, and reading node {(nodeName.Length > 0 ? nodeName : "(unnamed)")}'s spec.podCIDRs from the API server is not wired yet: pass --pod-cidr CIDR (once per family)");
    }

    private static int Fail(TextWriter error, string message, int code)
    {
        error.WriteLine($"dataplane install-cni: {message}");
        return code;
    }
}
