using System.CommandLine;
using Dataplane.Cli.Commands;
using Dataplane.Config;
using Dataplane.Kubernetes;
using Dataplane.Model;
using Dataplane.Tests.Infrastructure;
using k8s;
using k8s.Models;
using YamlDotNet.RepresentationModel;

namespace Dataplane.Tests.Deploy;

/// <summary>
/// deploy/kubernetes, read as the API server would type it (KubernetesClient's loader, strict: an unknown or misspelt
/// field fails) and held against the code it deploys: the ClusterRole against ApiResources.All, the containers'
/// arguments against the real `dataplane` parser, the ConfigMap's node.yaml against the config loader. No cluster
/// here (and no kubectl validation): what these tests cannot see is whether a real API server admits the objects.
/// </summary>
[Trait("Category", "unit")]
public sealed class ManifestTests
{
    private const string Namespace = "dataplane-system";

    private static readonly Lazy<IReadOnlyList<object>> s_objects = new(Load);

    private static IReadOnlyList<object> Objects => s_objects.Value;

    private static V1DaemonSet DaemonSet => Assert.Single(Objects.OfType<V1DaemonSet>());

    private static V1PodSpec Pod => DaemonSet.Spec.Template.Spec;

    private static V1Container Daemon => Assert.Single(Pod.Containers);

    private static V1Container Installer => Assert.Single(Pod.InitContainers);

    [Fact]
    public void Every_document_is_a_typed_object_of_the_expected_kind()
    {
        Assert.Equal(
            ["ClusterRole/dataplane", "ClusterRoleBinding/dataplane", "ConfigMap/dataplane-config", "DaemonSet/dataplane", "Namespace/dataplane-system", "ServiceAccount/dataplane"],
            Objects.Select(Describe).Order(StringComparer.Ordinal));
        Assert.All(Objects.OfType<IMetadata<V1ObjectMeta>>().Where(static o => o is not V1Namespace and not V1ClusterRole and not V1ClusterRoleBinding),
            o => Assert.Equal(Namespace, o.Metadata.NamespaceProperty));
        V1Namespace ns = Assert.Single(Objects.OfType<V1Namespace>());
        Assert.Equal("privileged", ns.Metadata.Labels["pod-security.kubernetes.io/enforce"]);
    }

    [Fact]
    public void The_cluster_role_grants_exactly_the_api_resources_the_daemon_uses()
    {
        V1ClusterRole role = Assert.Single(Objects.OfType<V1ClusterRole>());

        var granted = role.Rules.SelectMany(static r =>
        {
            Assert.True(r.ResourceNames is null or { Count: 0 } && r.NonResourceURLs is null or { Count: 0 }, "a rule names resources or non-resource URLs");
            return r.ApiGroups.SelectMany(g => r.Resources.SelectMany(res => r.Verbs.Select(v => $"{g}/{res}:{v}")));
        }).ToList();
        var used = ApiResources.All.SelectMany(static a => a.Verbs.Select(v => $"{a.Group}/{a.Resource}:{v}")).ToList();

        Assert.Equal(granted.Count, granted.Distinct().Count());
        Assert.Equal(used.Order(StringComparer.Ordinal), granted.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void The_binding_gives_that_role_to_the_service_account_the_daemon_set_runs_as()
    {
        V1ClusterRole role = Assert.Single(Objects.OfType<V1ClusterRole>());
        V1ServiceAccount account = Assert.Single(Objects.OfType<V1ServiceAccount>());
        V1ClusterRoleBinding binding = Assert.Single(Objects.OfType<V1ClusterRoleBinding>());

        Assert.Equal(("rbac.authorization.k8s.io", "ClusterRole", role.Metadata.Name), (binding.RoleRef.ApiGroup, binding.RoleRef.Kind, binding.RoleRef.Name));
        Rbacv1Subject subject = Assert.Single(binding.Subjects);
        Assert.Equal(("ServiceAccount", account.Metadata.Name, account.Metadata.NamespaceProperty), (subject.Kind, subject.Name, subject.NamespaceProperty));
        Assert.Equal(account.Metadata.Name, Pod.ServiceAccountName);
        Assert.NotEqual(false, Pod.AutomountServiceAccountToken);
    }

    [Fact]
    public void The_daemon_set_runs_privileged_on_the_host_network_of_every_node()
    {
        Assert.True(Pod.HostNetwork);
        Assert.Equal("ClusterFirstWithHostNet", Pod.DnsPolicy);
        Assert.Equal("system-node-critical", Pod.PriorityClassName);
        V1Toleration toleration = Assert.Single(Pod.Tolerations);
        Assert.Equal("Exists", toleration.OperatorProperty);
        Assert.Null(toleration.Key);
        Assert.Null(toleration.Effect);
        Assert.True(Daemon.SecurityContext?.Privileged);
        Assert.Equal("RollingUpdate", DaemonSet.Spec.UpdateStrategy.Type);
        Assert.Equal("1", DaemonSet.Spec.UpdateStrategy.RollingUpdate.MaxUnavailable.Value);
        Assert.Equal(DaemonSet.Spec.Selector.MatchLabels, DaemonSet.Spec.Template.Metadata.Labels);
        Assert.NotNull(Daemon.Resources?.Requests);
        Assert.Equal(["cpu", "memory"], Daemon.Resources.Requests.Keys.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void The_daemon_mounts_the_host_paths_it_shares_with_the_runtime_and_the_plugin()
    {
        Assert.Equal("/dev/net/tun", HostPathMountedAt(Daemon, "/dev/net/tun"));
        Assert.Equal("/run/netns", HostPathMountedAt(Daemon, "/run/netns"));
        Assert.Equal("Bidirectional", Daemon.VolumeMounts.Single(static m => m.MountPath == "/run/netns").MountPropagation);
        // The plugin runs on the host and dials the socket path the daemon binds: the same path on both sides.
        Assert.Equal("/run/dataplane", HostPathMountedAt(Daemon, "/run/dataplane"));
        Assert.Equal("CharDevice", Pod.Volumes.Single(static v => v.HostPath?.Path == "/dev/net/tun").HostPath.Type);
    }

    [Fact]
    public void Both_containers_get_the_node_name_from_the_downward_api()
    {
        foreach (V1Container container in (V1Container[])[Installer, Daemon])
        {
            V1EnvVar nodeName = Assert.Single(container.Env, static e => e.Name == "NODE_NAME");
            Assert.Equal("spec.nodeName", nodeName.ValueFrom?.FieldRef?.FieldPath);
            Assert.Equal("$(NODE_NAME)", ValueAfter(container.Args, "--node-name"));
        }
    }

    [Fact]
    public void The_init_container_runs_install_cni_with_arguments_the_cli_accepts_into_the_hosts_cni_dirs()
    {
        Assert.Equal(["dotnet", "/opt/dataplane/dataplane.dll"], Installer.Command);
        Assert.Equal("install-cni", Installer.Args[0]);

        ParseResult parse = DataplaneCli.Create().Parse([.. Installer.Args]);

        Assert.Empty(parse.Errors.Select(static e => e.Message));
        Assert.Equal("install-cni", parse.CommandResult.Command.Name);
        Assert.Equal("/opt/cni/bin", HostPathMountedAt(Installer, parse.GetValue<string>("--bin-dir")!));
        Assert.Equal("/etc/cni/net.d", HostPathMountedAt(Installer, parse.GetValue<string>("--conf-dir")!));
        // The host's /opt/cni/bin must not hide the image's, where the plugin to install is.
        string binary = parse.GetValue<string>("--cni-binary")!;
        Assert.Equal("/opt/cni/bin/dataplane-cni", binary);
        Assert.DoesNotContain(Installer.VolumeMounts, m => binary.StartsWith(m.MountPath + "/", StringComparison.Ordinal));
    }

    [Fact]
    public void The_plugins_socket_is_the_daemons_control_socket_in_the_shared_run_dataplane()
    {
        ParseResult install = DataplaneCli.Create().Parse([.. Installer.Args]);
        NodeConfig node = ConfigMapNode("node-a");

        string socket = NodeConfig.ExpandControlSocket(install.GetValue<string>("--socket")!, "node-a");

        Assert.Equal(node.ControlSocketPath, socket);
        Assert.Equal("/run/dataplane", Path.GetDirectoryName(socket));
        Assert.Equal("/run/dataplane", HostPathMountedAt(Daemon, "/run/dataplane"));
    }

    [Fact]
    public void The_daemon_runs_with_arguments_the_cli_accepts_and_the_probes_reach_its_metrics_address()
    {
        Assert.Equal(["dotnet", "/opt/dataplane/dataplane.dll"], Daemon.Command);
        Assert.Equal("run", Daemon.Args[0]);
        RootCommand root = DataplaneCli.Create();
        ParseResult parse = root.Parse([.. Daemon.Args]);

        Assert.Empty(parse.Errors.Select(static e => e.Message));
        string config = parse.GetValue<FileInfo>("--config")!.FullName;
        V1VolumeMount mount = Assert.Single(Daemon.VolumeMounts, m => m.MountPath == Path.GetDirectoryName(config));
        Assert.Equal("dataplane-config", Pod.Volumes.Single(v => v.Name == mount.Name).ConfigMap?.Name);
        Assert.Contains(Path.GetFileName(config), ConfigMap.Data.Keys);

        string metrics = parse.GetValue<string>("--metrics-address")!;
        Assert.Equal("127.0.0.1:9641", metrics);
        foreach ((V1Probe? probe, string path) in (ReadOnlySpan<(V1Probe?, string)>)[(Daemon.StartupProbe, "/healthz"), (Daemon.LivenessProbe, "/healthz"), (Daemon.ReadinessProbe, "/readyz")])
        {
            Assert.NotNull(probe?.HttpGet);
            Assert.Equal((metrics, path), ($"{probe.HttpGet.Host}:{probe.HttpGet.Port.Value}", probe.HttpGet.Path));
        }
    }

    [Fact]
    public void The_config_maps_node_yaml_with_what_the_node_object_supplies_is_a_valid_node_config()
    {
        NodeConfig node = ConfigMapNode("node-a");

        Assert.Equal("node-a", node.Node.Name);
        Assert.Empty(node.Pods);
        Assert.Empty(node.Services);
        Assert.True(node.Dataplane.MaxPods >= 110, "fewer pod ports than the kubelet's default maxPods");
    }

    private static V1ConfigMap ConfigMap => Assert.Single(Objects.OfType<V1ConfigMap>());

    private static IReadOnlyList<object> Load() => Load("dataplane.yaml");

    /// <summary>One file of deploy/kubernetes, strictly: an unknown field (a misspelt key) throws instead of vanishing.</summary>
    internal static IReadOnlyList<object> Load(string file)
        => KubernetesYaml.LoadAllFromString(File.ReadAllText(Repository.PathOf("deploy", "kubernetes", file)), strict: true);

    [Fact]
    public void Every_file_in_deploy_kubernetes_is_checked_by_a_test()
        => Assert.Equal(["dataplane.yaml", "ingress.yaml"], Directory.GetFiles(Repository.PathOf("deploy", "kubernetes"), "*.yaml").Select(Path.GetFileName).Order(StringComparer.Ordinal));

    internal static string Describe(object o) => o switch
    {
        IKubernetesObject<V1ObjectMeta> k => $"{k.Kind}/{k.Metadata.Name}",
        _ => o.GetType().Name,
    };

    /// <summary>The host path of the hostPath volume <paramref name="container"/> mounts at <paramref name="mountPath"/>.</summary>
    private static string HostPathMountedAt(V1Container container, string mountPath)
    {
        V1VolumeMount mount = Assert.Single(container.VolumeMounts, m => m.MountPath == mountPath);
        V1Volume volume = Assert.Single(Pod.Volumes, v => v.Name == mount.Name);
        Assert.NotNull(volume.HostPath);
        return volume.HostPath.Path;
    }

    private static string? ValueAfter(IList<string> args, string option)
    {
        int at = args.IndexOf(option);
        return at >= 0 && at + 1 < args.Count ? args[at + 1] : null;
    }

    /// <summary>
    /// The ConfigMap's node.yaml with the three keys in-cluster mode takes from elsewhere (--node-name, and the Node's
    /// first pod CIDR with its first address as the gateway, as install-cni writes it), loaded by the real loader.
    /// </summary>
    private static NodeConfig ConfigMapNode(string name)
    {
        var yaml = new YamlStream();
        yaml.Load(new StringReader(ConfigMap.Data["node.yaml"]));
        var node = (YamlMappingNode)((YamlMappingNode)yaml.Documents[0].RootNode).Children[new YamlScalarNode("node")];
        Assert.DoesNotContain(new YamlScalarNode("name"), node.Children.Keys);
        node.Add("name", name);
        node.Add("podCidr", "10.244.1.0/24");
        node.Add("gatewayIp", "10.244.1.1");
        var text = new StringWriter();
        yaml.Save(text, assignAnchors: false);

        ConfigResult result = NodeConfigLoader.Parse(text.ToString(), "dataplane-config node.yaml");

        Assert.True(result.IsValid, string.Join('\n', result.Errors));
        return result.Config!;
    }
}
