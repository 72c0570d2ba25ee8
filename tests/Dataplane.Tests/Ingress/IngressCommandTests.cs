namespace Dataplane.Tests.Ingress;

/// <summary>`dataplane ingress` refuses bad arguments in one line and exit code 2, before listening anywhere.</summary>
[Trait("Category", "unit")]
public sealed class IngressCommandTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("dataplane-ingress-cli-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Theory]
    [InlineData("dataplane ingress: --http ADDR:PORT is required (e.g. --http 0.0.0.0:80)", "--objects", "{objects}")]
    [InlineData("dataplane ingress: --http 'localhost:80': expected ADDR:PORT, e.g. 0.0.0.0:80 or [::]:80", "--objects", "{objects}", "--http", "localhost:80")]
    [InlineData("dataplane ingress: --https '127.0.0.1': expected ADDR:PORT, e.g. 0.0.0.0:80 or [::]:80", "--objects", "{objects}", "--http", "127.0.0.1:0", "--https", "127.0.0.1")]
    [InlineData("dataplane ingress: --objects and --kubeconfig are two sources of the same objects; give one", "--objects", "{objects}", "--kubeconfig", "{objects}", "--http", "127.0.0.1:0")]
    [InlineData("dataplane ingress: {dir}/missing.yaml: no such file", "--objects", "{dir}/missing.yaml", "--http", "127.0.0.1:0")]
    [InlineData("dataplane ingress: kubeconfig {dir}/missing: no such file", "--kubeconfig", "{dir}/missing", "--http", "127.0.0.1:0")]
    [InlineData("dataplane ingress: --load-balancing 'random': expected round-robin or power-of-two", "--objects", "{objects}", "--http", "127.0.0.1:0", "--load-balancing", "random")]
    public async Task Bad_arguments_are_one_line_and_exit_code_2(string expected, params string[] args)
    {
        string objects = Path.Combine(_directory, "objects.yaml");
        await File.WriteAllTextAsync(objects, "apiVersion: v1\nkind: List\nitems: []\n");

        (int code, string stdout, string stderr) = await IngressProxyTests.CliAsync(
            ["ingress", .. args.Select(a => a.Replace("{objects}", objects, StringComparison.Ordinal).Replace("{dir}", _directory, StringComparison.Ordinal))]);

        Assert.Equal((2, ""), (code, stdout));
        Assert.Equal(expected.Replace("{dir}", _directory, StringComparison.Ordinal), Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries)));
    }

    [Fact]
    public async Task Status_without_a_controller_says_so_in_one_line()
    {
        string socket = Path.Combine(_directory, "none.sock");

        (int code, _, string stderr) = await IngressProxyTests.CliAsync("ingress", "status", "--control-socket", socket);

        Assert.Equal(1, code);
        Assert.StartsWith($"dataplane ingress status: no controller answers on {socket}: ", Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries)), StringComparison.Ordinal);
    }
}
