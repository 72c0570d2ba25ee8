using System.Text.Json.Nodes;

namespace Dataplane.Tests.Cni;

/// <summary>Bad environment and bad config: the spec's codes, a message naming what is wrong, and nothing done.</summary>
[Trait("Category", "unit")]
public sealed class CniInputErrorTests : IDisposable
{
    private readonly CniTestNode _node = new();

    public void Dispose() => _node.Dispose();

    [Theory]
    [InlineData("ADD", "CNI_CONTAINERID")]
    [InlineData("ADD", "CNI_NETNS")]
    [InlineData("ADD", "CNI_IFNAME")]
    [InlineData("ADD", "CNI_PATH")]
    [InlineData("DEL", "CNI_CONTAINERID")]
    [InlineData("DEL", "CNI_IFNAME")]
    [InlineData("CHECK", "CNI_NETNS")]
    [InlineData("GC", "CNI_PATH")]
    [InlineData("STATUS", "CNI_PATH")]
    public void A_missing_variable_is_4_naming_it(string command, string variable)
    {
        CniOutcome run = _node.Run(command, _node.Config("1.1.0"), env => env.Remove(variable));

        Assert.Equal(4, run.ErrorCode);
        Assert.Contains(variable, run.Message, StringComparison.Ordinal);
        Assert.Empty(_node.Ipam.Calls);
        Assert.Empty(_node.Daemon.Requests);
    }

    [Fact]
    public void A_missing_CNI_COMMAND_is_4_naming_it()
    {
        CniOutcome run = _node.Run("ADD", _node.Config(), static env => env.Remove("CNI_COMMAND"));

        Assert.Equal(4, run.ErrorCode);
        Assert.Contains("CNI_COMMAND", run.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_missing_variable_is_named_at_once()
    {
        CniOutcome run = _node.Run("ADD", _node.Config(), static env =>
        {
            env.Remove("CNI_NETNS");
            env["CNI_IFNAME"] = ""; // empty counts as missing, as in libcni
        });

        Assert.Equal(4, run.ErrorCode);
        Assert.Contains("CNI_NETNS, CNI_IFNAME", run.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void DEL_needs_no_netns()
    {
        _node.Run("DEL", _node.Config(), static env => env.Remove("CNI_NETNS")).AssertQuietSuccess();
    }

    [Theory]
    [InlineData("CNI_COMMAND", "ATTACH")]
    [InlineData("CNI_CONTAINERID", "-starts-with-dash")]
    [InlineData("CNI_CONTAINERID", "has/slash")]
    [InlineData("CNI_IFNAME", "much-too-long-name0")]
    [InlineData("CNI_IFNAME", "eth:0")]
    [InlineData("CNI_IFNAME", "..")]
    [InlineData("CNI_ARGS", "K8S_POD_NAME")]
    public void An_invalid_variable_is_4_naming_it(string variable, string value)
    {
        CniOutcome run = _node.Run("ADD", _node.Config(), env => env[variable] = value);

        Assert.Equal(4, run.ErrorCode);
        Assert.Contains(variable, run.Message, StringComparison.Ordinal);
        Assert.Empty(_node.Ipam.Calls);
    }

    [Fact]
    public void Malformed_json_is_6_saying_where()
    {
        CniOutcome run = _node.Run("ADD", "{\n  \"cniVersion\": \"1.0.0\",\n  \"name\": dataplane\n}");

        Assert.Equal(6, run.ErrorCode);
        Assert.Contains("line 3", run.Message, StringComparison.Ordinal);
        Assert.Contains("byte 11", run.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", run.Stdout + run.Stderr, StringComparison.Ordinal); // no stack trace
    }

    [Theory]
    [InlineData("")]
    [InlineData("[1,2]")]
    public void Empty_or_non_object_stdin_is_6(string stdin)
    {
        Assert.Equal(6, _node.Run("ADD", stdin).ErrorCode);
    }

    [Fact]
    public void Missing_socket_is_7_naming_the_key()
    {
        CniOutcome run = _node.Run("ADD", _node.Config(change: static c => c.Remove("socket")));

        Assert.Equal(7, run.ErrorCode);
        Assert.Contains("socket", run.Message, StringComparison.Ordinal);
        Assert.Empty(_node.Ipam.Calls);
    }

    [Fact]
    public void Relative_socket_is_7()
    {
        Assert.Equal(7, _node.Run("ADD", _node.Config(change: static c => c["socket"] = "node-a.sock")).ErrorCode);
    }

    [Theory]
    [InlineData("""{"ranges":[]}""")]
    [InlineData("""{"type":""}""")]
    [InlineData("null")]
    public void Missing_ipam_type_is_7_naming_the_key(string ipam)
    {
        CniOutcome run = _node.Run("ADD", _node.Config(change: c => c["ipam"] = JsonNode.Parse(ipam)));

        Assert.Equal(7, run.ErrorCode);
        Assert.Contains("ipam.type", run.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_ipam_type_that_is_a_path_is_7()
    {
        Assert.Equal(7, _node.Run("ADD", _node.Config(change: static c => c["ipam"]!["type"] = "/usr/lib/cni/host-local")).ErrorCode);
    }

    [Theory]
    [InlineData("100")]
    [InlineData("70000")]
    [InlineData("\"1500\"")]
    [InlineData("1500.5")]
    public void A_bad_mtu_is_7_naming_the_key(string mtu)
    {
        CniOutcome run = _node.Run("ADD", _node.Config(change: c => c["mtu"] = JsonNode.Parse(mtu)));

        Assert.Equal(7, run.ErrorCode);
        Assert.Contains("mtu", run.Message, StringComparison.Ordinal);
        Assert.Empty(_node.Ipam.Calls);
    }

    [Fact]
    public void Missing_or_invalid_network_name_is_7()
    {
        Assert.Equal(7, _node.Run("ADD", _node.Config(change: static c => c.Remove("name"))).ErrorCode);
        Assert.Equal(7, _node.Run("ADD", _node.Config(change: static c => c["name"] = "my net")).ErrorCode);
    }

    [Fact]
    public void IpMasq_true_is_2_naming_key_and_value()
    {
        CniOutcome run = _node.Run("ADD", _node.Config(change: static c => c["ipMasq"] = true));

        Assert.Equal(2, run.ErrorCode);
        Assert.Contains("ipMasq=true", run.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unknown_keys_are_accepted_and_handed_to_ipam()
    {
        JsonObject config = _node.Config(change: static c => c["somethingElse"] = new JsonObject { ["x"] = 1 });

        _node.Add(config);

        Assert.Contains("\"somethingElse\":{\"x\":1}", _node.Ipam.StdinOf("ADD"), StringComparison.Ordinal);
    }
}
