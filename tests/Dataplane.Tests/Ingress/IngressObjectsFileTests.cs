using System.Text;
using Dataplane.Kubernetes;
using static Dataplane.Tests.Ingress.IngressModels;

namespace Dataplane.Tests.Ingress;

/// <summary>An objects file holding the ingress controller's kinds, next to the node's.</summary>
[Trait("Category", "unit")]
public class IngressObjectsFileTests
{
    [Fact]
    public void Ingresses_ingress_classes_and_secrets_are_read_with_the_services_and_slices()
    {
        TestCertificate certificate = TestCertificate.Create("a.com");
        string json = ToListJson(
        [
            IngressObject("shop", "web", [Rule("a.com", Path("/", "Prefix", "web", "http"))], tls: [Tls("web-tls", "a.com")]),
            Class("dataplane", "dataplane.io/ingress-controller", isDefault: true),
            TlsSecret("shop", "web-tls", certificate.CertificatePem, certificate.KeyPem),
            ServiceObject("shop", "web", "10.96.0.10", ("http", 80, "web")),
            Slice("shop", "web", "web-1", [("http", 8080)], ("10.244.1.10", true)),
        ]);
        json = json.Replace("]}", ",{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"x\"}}]}", StringComparison.Ordinal);

        ObjectsFileResult result = ObjectsFile.Parse(json, "objects.json");

        Assert.True(result.Succeeded, string.Join("\n", result.Errors));
        Assert.Empty(result.Warnings);
        Assert.Equal(new Dictionary<string, int> { ["ConfigMap"] = 1 }, result.IgnoredKinds);
        Assert.Equal("shop/web", $"{result.Objects.Ingresses.Single().Metadata.NamespaceProperty}/{result.Objects.Ingresses.Single().Metadata.Name}");
        Assert.Equal("a.com", result.Objects.Ingresses.Single().Spec.Rules.Single().Host);
        // IngressClass is cluster-scoped: no namespace is made up for it.
        Assert.Null(result.Objects.IngressClasses.Single().Metadata.NamespaceProperty);
        Assert.Equal(certificate.KeyPem, Encoding.ASCII.GetString(result.Objects.Secrets.Single().Data["tls.key"]));
        Assert.Single(result.Objects.Services);
        Assert.Single(result.Objects.EndpointSlices);
    }

    [Fact]
    public void An_ingress_written_without_a_namespace_is_in_the_default_one_and_other_api_versions_are_left_out()
    {
        const string yaml = """
            apiVersion: networking.k8s.io/v1
            kind: Ingress
            metadata: {name: web}
            spec: {defaultBackend: {service: {name: web, port: {number: 80}}}}
            ---
            apiVersion: extensions/v1beta1
            kind: Ingress
            metadata: {name: legacy}
            """;

        ObjectsFileResult result = ObjectsFile.Parse(yaml, "objects.yaml");

        Assert.True(result.Succeeded);
        Assert.Equal("default", result.Objects.Ingresses.Single().Metadata.NamespaceProperty);
        Assert.Equal("objects.yaml:6:1: Ingress extensions/v1beta1 is not read (only networking.k8s.io/v1); left out", Assert.Single(result.Warnings).ToString());
    }

    [Fact]
    public void The_ingress_controllers_resources_are_its_own_and_not_the_node_daemons()
    {
        Assert.Equal(["ingresses", "ingressclasses", "services", "endpointslices", "secrets"], ApiResources.IngressController.Select(static r => r.Resource));
        Assert.All(ApiResources.IngressController, static r => Assert.Equal(["list", "watch"], r.Verbs));
        Assert.DoesNotContain(ApiResources.Secrets, ApiResources.All);
        Assert.DoesNotContain(ApiResources.Ingresses, ApiResources.All);
    }
}
