using Dataplane.Kubernetes;
using k8s;
using k8s.Models;
using static Dataplane.Tests.Kubernetes.ApiObjects;

namespace Dataplane.Tests.Kubernetes;

/// <summary>
/// What kubectl prints (a List, documents, or JSON) reads into the same objects; what cannot be read is one line with
/// the file and, when it is inside the file, the line and column.
/// </summary>
[Trait("Category", "unit")]
public class ObjectsFileTests
{
    [Fact]
    public void Kubectl_list_dump_reads_every_service_slice_and_node()
    {
        ObjectsFileResult result = ObjectsFile.Read(PathOf("cluster.yaml"));

        Assert.True(result.Succeeded, string.Join("\n", result.Errors));
        Assert.Empty(result.Warnings);
        Assert.Empty(result.IgnoredKinds);
        Assert.Equal(
            ["default/kubernetes", "kube-system/kube-dns", "shop/api", "shop/cart-db", "shop/checkout", "shop/payments", "shop/storefront", "shop/web"],
            result.Objects.Services.Select(s => $"{s.Metadata.NamespaceProperty}/{s.Metadata.Name}"));
        Assert.Equal(9, result.Objects.EndpointSlices.Count);
        Assert.Equal(["cp-1", "worker-1", "worker-2"], result.Objects.Nodes.Select(n => n.Metadata.Name));

        // Typed as the API's types: a named targetPort stays a name, quantities and annotations arrive intact.
        V1Service web = result.Objects.Services.Single(s => s.Metadata.Name == "web");
        Assert.Equal("http", web.Spec.Ports[0].TargetPort.Value);
        V1EndpointSlice dns = result.Objects.EndpointSlices.Single(s => s.Metadata.Name == "kube-dns-8qvzc");
        Assert.Equal(["dns-tcp", "dns", "metrics"], dns.Ports.Select(p => p.Name));
        Assert.Equal("110", result.Objects.Nodes[0].Status.Capacity["pods"].ToString());
    }

    [Fact]
    public void Multi_document_file_gives_the_same_objects_and_counts_the_kinds_it_passes_over()
    {
        ObjectsFileResult list = ObjectsFile.Read(PathOf("cluster.yaml"));
        ObjectsFileResult documents = ObjectsFile.Read(PathOf("cluster-documents.yaml"));

        Assert.True(documents.Succeeded, string.Join("\n", documents.Errors));
        Assert.Empty(documents.Warnings);
        AssertSameObjects(list.Objects, documents.Objects);
        Assert.Equal(new Dictionary<string, int> { ["ConfigMap"] = 1, ["Endpoints"] = 1 }, documents.IgnoredKinds);
    }

    [Fact]
    public void Json_dump_gives_the_same_objects()
    {
        ObjectsFileResult json = ObjectsFile.Read(PathOf("cluster.json"));

        Assert.True(json.Succeeded, string.Join("\n", json.Errors));
        AssertSameObjects(ObjectsFile.Read(PathOf("cluster.yaml")).Objects, json.Objects);
    }

    [Fact]
    public void Object_that_does_not_fit_its_type_is_reported_at_the_value_and_the_others_are_still_read()
    {
        const string Text = """
            apiVersion: v1
            kind: List
            items:
            - apiVersion: v1
              kind: Service
              metadata:
                name: web
              spec:
                ports:
                - port: eighty
            - apiVersion: v1
              kind: Node
              metadata:
                name: worker-1
            """;

        ObjectsFileResult result = ObjectsFile.Parse(Text, "objects.yaml");

        Assert.False(result.Succeeded);
        string error = Assert.Single(result.Errors).ToString();
        Assert.StartsWith($"objects.yaml:{PositionOf(Text, "eighty")}: cannot read this Service: ", error, StringComparison.Ordinal);
        Assert.Equal("10:13", PositionOf(Text, "eighty"));
        Assert.Contains("eighty", error, StringComparison.Ordinal);
        Assert.DoesNotContain("\n", error, StringComparison.Ordinal);
        Assert.Empty(result.Objects.Services);
        Assert.Equal("worker-1", Assert.Single(result.Objects.Nodes).Metadata.Name);
    }

    [Fact]
    public void Json_object_that_does_not_fit_is_reported_at_the_value_too()
    {
        const string Text = """
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": "web", "namespace": "shop"},
                "spec": {"ports": [{"port": 80, "nodePort": "high"}]}
            }
            """;

        ObjectsFileResult result = ObjectsFile.Parse(Text, "web.json");

        Assert.StartsWith($"web.json:{PositionOf(Text, "\"high\"")}: cannot read this Service: ", Assert.Single(result.Errors).ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Yaml_syntax_error_is_one_line_with_its_position()
    {
        ObjectsFileResult result = ObjectsFile.Parse("apiVersion: v1\nkind: Service\nmetadata: { name: web\nspec: {}\n", "broken.yaml");

        Assert.False(result.Succeeded);
        ObjectsFileProblem error = Assert.Single(result.Errors);
        Assert.Equal("broken.yaml", error.File);
        Assert.True(error.Line >= 3, error.ToString());
        Assert.StartsWith($"broken.yaml:{error.Line}:{error.Column}: not YAML or JSON: ", error.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("\n", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void File_that_is_not_there_or_is_a_directory_is_one_line_naming_the_path()
    {
        string directory = Path.Combine(Path.GetTempPath(), $"objects-{Guid.NewGuid():N}");
        Directory.CreateDirectory(directory);
        try
        {
            string missing = Path.Combine(directory, "nope.yaml");
            Assert.Equal($"{missing}: no such file", Assert.Single(ObjectsFile.Read(missing).Errors).ToString());
            Assert.StartsWith($"{directory}: is a directory", Assert.Single(ObjectsFile.Read(directory).Errors).ToString(), StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Theory]
    [InlineData("just some words\n", "objects.txt:1:1: expected a Kubernetes object or a List of them (a mapping with apiVersion and kind), found 'just some words'")]
    [InlineData("- a\n- b\n", "objects.txt:1:1: expected a Kubernetes object or a List of them (a mapping with apiVersion and kind), found a list")]
    [InlineData("apiVersion: v1\nkind: List\nitems: 5\n", "objects.txt:3:8: a List's items must be a list of objects, found '5'")]
    public void File_that_holds_no_kubernetes_objects_says_so_in_one_line(string text, string expected)
    {
        ObjectsFileResult result = ObjectsFile.Parse(text, "objects.txt");

        Assert.Equal(expected, Assert.Single(result.Errors).ToString());
    }

    [Fact]
    public void Objects_without_kind_or_name_or_in_another_api_version_are_left_out_with_a_warning()
    {
        const string Text = """
            metadata: { name: mystery }
            ---
            apiVersion: v1
            kind: Service
            metadata: { namespace: shop }
            spec: { clusterIP: 10.96.1.1 }
            ---
            apiVersion: discovery.k8s.io/v1beta1
            kind: EndpointSlice
            metadata: { name: web-old, namespace: shop }
            addressType: IPv4
            endpoints: []
            """;

        ObjectsFileResult result = ObjectsFile.Parse(Text, "objects.yaml");

        Assert.True(result.Succeeded);
        Assert.Equal(
            [
                "objects.yaml:1:1: an object without kind; left out",
                "objects.yaml:3:1: a Service without metadata.name; left out",
                "objects.yaml:8:1: EndpointSlice discovery.k8s.io/v1beta1 is not read (only discovery.k8s.io/v1); left out",
            ],
            result.Warnings.Select(w => w.ToString()));
        Assert.Empty(result.Objects.Services);
        Assert.Empty(result.Objects.EndpointSlices);
    }

    [Fact]
    public void Same_object_twice_keeps_the_later_one_in_the_first_ones_place()
    {
        const string Text = """
            apiVersion: v1
            kind: Service
            metadata: { name: web }
            spec: { clusterIP: 10.96.1.1 }
            ---
            apiVersion: v1
            kind: Service
            metadata: { name: api }
            spec: { clusterIP: 10.96.1.2 }
            ---
            apiVersion: v1
            kind: Service
            metadata: { name: web, namespace: default }
            spec: { clusterIP: 10.96.1.3 }
            """;

        ObjectsFileResult result = ObjectsFile.Parse(Text, "objects.yaml");

        Assert.Equal(["web", "api"], result.Objects.Services.Select(s => s.Metadata.Name));
        Assert.Equal("10.96.1.3", result.Objects.Services[0].Spec.ClusterIP);
        Assert.Equal("default", result.Objects.Services[0].Metadata.NamespaceProperty);
        Assert.Equal(
            "objects.yaml:11:1: Service default/web appears again (first at line 1); the later one is kept",
            Assert.Single(result.Warnings).ToString());
    }

    [Fact]
    public void Alias_inside_the_node_it_names_is_an_error_not_a_hang()
    {
        ObjectsFileResult result = ObjectsFile.Parse("apiVersion: v1\nkind: Service\nmetadata: &m\n  name: web\n  labels: *m\n", "loop.yaml");

        Assert.False(result.Succeeded);
        Assert.Contains("a cycle", Assert.Single(result.Errors).Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Empty_file_is_a_warning()
    {
        ObjectsFileResult result = ObjectsFile.Parse("", "empty.yaml");

        Assert.True(result.Succeeded);
        Assert.Equal("empty.yaml: the file is empty: no objects", Assert.Single(result.Warnings).ToString());
    }

    /// <summary>The same objects, field for field: compared through their JSON, as the API would serve them.</summary>
    private static void AssertSameObjects(ClusterObjects expected, ClusterObjects actual)
    {
        Assert.Equal(expected.Services.Select(Json), actual.Services.Select(Json));
        Assert.Equal(expected.EndpointSlices.Select(Json), actual.EndpointSlices.Select(Json));
        Assert.Equal(expected.Nodes.Select(Json), actual.Nodes.Select(Json));
        Assert.Equal(8, actual.Services.Count);
        Assert.Equal(9, actual.EndpointSlices.Count);
        Assert.Equal(3, actual.Nodes.Count);
    }

    private static string Json(object o) => KubernetesJson.Serialize(o);

    /// <summary>Where <paramref name="needle"/> first appears in <paramref name="text"/>, as <c>line:column</c> (1-based).</summary>
    private static string PositionOf(string text, string needle)
    {
        int at = text.IndexOf(needle, StringComparison.Ordinal);
        int lineStart = text.LastIndexOf('\n', Math.Max(at - 1, 0)) + 1;
        return $"{text.AsSpan(0, at).Count('\n') + 1}:{at - lineStart + 1}";
    }
}
