using System.CommandLine;
using Dataplane.Cli.Commands;
using Dataplane.Kubernetes;
using k8s.Models;

namespace Dataplane.Tests.Deploy;

/// <summary>
/// deploy/kubernetes/ingress.yaml held against the code it deploys: its ClusterRole against
/// ApiResources.IngressController, the container's arguments against the real `dataplane ingress` parser, the
/// Service's ports against the container's.
/// </summary>
[Trait("Category", "unit")]
public sealed class IngressManifestTests
{
    private static readonly Lazy<IReadOnlyList<object>> s_objects = new(() => ManifestTests.Load("ingress.yaml"));

    private static IReadOnlyList<object> Objects => s_objects.Value;

    private static V1Deployment Deployment => Assert.Single(Objects.OfType<V1Deployment>());

    private static V1Container Controller => Assert.Single(Deployment.Spec.Template.Spec.Containers);

    [Fact]
    public void Every_document_is_a_typed_object_of_the_expected_kind()
    {
        Assert.Equal(
            ["ClusterRole/dataplane-ingress", "ClusterRoleBinding/dataplane-ingress", "Deployment/dataplane-ingress", "IngressClass/dataplane", "Service/dataplane-ingress", "ServiceAccount/dataplane-ingress"],
            Objects.Select(ManifestTests.Describe).Order(StringComparer.Ordinal));
        V1IngressClass ingressClass = Assert.Single(Objects.OfType<V1IngressClass>());
        Assert.Equal("dataplane.io/ingress-controller", ingressClass.Spec.Controller);
    }

    [Fact]
    public void The_cluster_role_grants_exactly_what_the_ingress_controller_reads_and_no_more()
    {
        V1ClusterRole role = Assert.Single(Objects.OfType<V1ClusterRole>());
        List<string> granted = [.. role.Rules.SelectMany(static r => r.ApiGroups.SelectMany(g => r.Resources.SelectMany(res => r.Verbs.Select(v => $"{g}/{res}:{v}"))))];
        List<string> used = [.. ApiResources.IngressController.SelectMany(static a => a.Verbs.Select(v => $"{a.Group}/{a.Resource}:{v}"))];

        Assert.Equal(granted.Count, granted.Distinct().Count());
        Assert.Equal(used.Order(StringComparer.Ordinal), granted.Order(StringComparer.Ordinal));
        V1ClusterRoleBinding binding = Assert.Single(Objects.OfType<V1ClusterRoleBinding>());
        Assert.Equal(role.Metadata.Name, binding.RoleRef.Name);
        Assert.Equal(Deployment.Spec.Template.Spec.ServiceAccountName, Assert.Single(binding.Subjects).Name);
    }

    [Fact]
    public void The_controller_runs_with_arguments_the_cli_accepts_and_the_service_reaches_its_ports()
    {
        Assert.Equal(["dotnet", "/opt/dataplane/dataplane.dll"], Controller.Command);
        ParseResult parse = DataplaneCli.Create().Parse([.. Controller.Args]);
        Assert.Empty(parse.Errors.Select(static e => e.Message));
        Assert.Equal("ingress", parse.CommandResult.Command.Name);

        V1Service service = Assert.Single(Objects.OfType<V1Service>());
        Assert.Equal("LoadBalancer", service.Spec.Type);
        Assert.Equal(Deployment.Spec.Selector.MatchLabels, service.Spec.Selector);
        foreach (V1ServicePort port in service.Spec.Ports)
        {
            V1ContainerPort target = Assert.Single(Controller.Ports, p => p.Name == port.TargetPort.Value);
            string listen = port.Name == "http" ? "--http" : "--https";
            Assert.EndsWith($":{target.ContainerPort}", parse.GetValue<string>(listen), StringComparison.Ordinal);
        }
    }
}
