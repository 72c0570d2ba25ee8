using System.Net.Sockets;
using Dataplane.Config;
using Dataplane.Tests.Io;
using static Dataplane.Tests.Config.ConfigYaml;

namespace Dataplane.Tests.Config;

/// <summary>
/// dataplane.controlSocket against what is on disk: the daemon deletes what sits at the path before it binds, so
/// validation refuses anything but a socket (a stopped daemon's, which may be replaced) or nothing, with file:line.
/// </summary>
[Trait("Category", "unit")]
public sealed class ControlSocketConfigTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void A_regular_file_at_the_control_socket_path_is_refused_at_its_line_and_left_untouched()
    {
        string file = _dir.File("notes.txt");
        File.WriteAllText(file, "keep me");
        string yaml = Node + $"dataplane:\n  controlSocket: {file}  #!\n";

        ConfigError error = Assert.Single(Errors(yaml));

        Assert.Equal(("node.yaml", MarkedLine(yaml), "dataplane.controlSocket"), (error.File, error.Line, error.KeyPath));
        Assert.Contains($"'{file}' is a regular file, not a socket", error.Problem, StringComparison.Ordinal);
        Assert.Equal("keep me", File.ReadAllText(file));
    }

    [Fact]
    public void A_directory_at_the_control_socket_path_is_refused()
    {
        string yaml = Node + $"dataplane:\n  controlSocket: {_dir.Path}  #!\n";

        ConfigError error = Assert.Single(Errors(yaml));

        Assert.Equal(MarkedLine(yaml), error.Line);
        Assert.Contains("is a directory, not a socket", error.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void A_control_socket_under_a_regular_file_is_refused_naming_the_file()
    {
        string file = _dir.File("plain");
        File.WriteAllText(file, "");
        string yaml = Node + $"dataplane:\n  controlSocket: {file}/{{node}}.sock  #!\n";

        ConfigError error = Assert.Single(Errors(yaml));

        Assert.Equal(MarkedLine(yaml), error.Line);
        Assert.Contains($"{file} is a regular file, not a directory", error.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void A_directory_where_the_instance_lock_goes_is_refused()
    {
        Directory.CreateDirectory(_dir.File("node-a.sock.lock"));
        string yaml = Node + $"dataplane:\n  controlSocket: {_dir.Path}/{{node}}.sock  #!\n";

        ConfigError error = Assert.Single(Errors(yaml));

        Assert.Equal(MarkedLine(yaml), error.Line);
        Assert.Contains("node-a.sock.lock', the node's instance lock, is a directory", error.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void A_stale_socket_or_nothing_at_the_path_is_accepted()
    {
        string stale = _dir.File("stale.sock");
        using (var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified))
        {
            // .NET unlinks the file of a socket it bound when the socket is closed; a killed daemon's stays. Moving
            // the file away before the close keeps it, as a kill would.
            socket.Bind(new UnixDomainSocketEndPoint(stale + ".bound"));
            File.Move(stale + ".bound", stale);
        }

        Assert.True(File.Exists(stale), "binding leaves the socket file behind, as a killed daemon does");
        Assert.Equal(stale, Valid(Node + $"dataplane:\n  controlSocket: {stale}\n").ControlSocketPath);
        Assert.Equal(_dir.File("node-a.sock"), Valid(Node + $"dataplane:\n  controlSocket: {_dir.Path}/{{node}}.sock\n").ControlSocketPath);
    }
}
