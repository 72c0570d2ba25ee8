using Dataplane.Kubernetes;
using k8s;
using k8s.Models;

namespace Dataplane.Tests.Kubernetes;

/// <summary>Connecting from a kubeconfig: a working one reaches the server; every broken one is one line naming the file.</summary>
[Trait("Category", "unit")]
public sealed class ApiServerClientTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("dataplane-kubeconfig-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task Kubeconfig_reaches_the_server_it_names()
    {
        await using FakeApiServer server = await FakeApiServer.StartAsync();
        server.UpsertFixture(ApiFixtures.Node);
        string path = Write("config", $"""
            apiVersion: v1
            kind: Config
            clusters:
            - name: fake
              cluster:
                server: {server.BaseUri}
            users:
            - name: tester
              user:
                token: not-checked
            contexts:
            - name: fake
              context:
                cluster: fake
                user: tester
            current-context: fake
            """);

        using IKubernetes client = ApiServerClient.Create(path);
        V1Node node = await client.CoreV1.ReadNodeAsync("node-a");

        Assert.Equal(["10.244.1.0/24", "fd00:10:244:1::/64"], node.Spec.PodCIDRs);
    }

    [Fact]
    public void Missing_kubeconfig_says_so_in_one_line()
    {
        string path = Path.Combine(_directory, "absent");

        var error = Assert.Throws<ApiServerConfigException>(() => ApiServerClient.Create(path));

        Assert.Equal($"kubeconfig {path}: no such file", error.Message);
    }

    [Theory]
    [InlineData("clusters: [ {name: fake, cluster: {server: ")]
    [InlineData("apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n")]
    [InlineData("apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster:\n    server: https://10.0.0.1:6443\n    certificate-authority-data: not-base64!\ncontexts:\n- name: fake\n  context: {cluster: fake, user: u}\nusers:\n- name: u\n  user: {token: t}\ncurrent-context: fake\n")]
    public void Broken_kubeconfig_is_one_line_naming_the_file(string content)
    {
        string path = Write("config", content);

        var error = Assert.Throws<ApiServerConfigException>(() => ApiServerClient.Create(path));

        Assert.StartsWith($"kubeconfig {path}: ", error.Message);
        Assert.True(error.Message.Length > $"kubeconfig {path}: ".Length, "the reason is missing");
        Assert.DoesNotContain('\n', error.Message);
        Assert.DoesNotContain("   at ", error.Message);
    }

    private string Write(string name, string content)
    {
        string path = Path.Combine(_directory, name);
        File.WriteAllText(path, content);
        return path;
    }
}
