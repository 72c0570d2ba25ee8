using Dataplane.Io;
using Dataplane.Io.Netlink;
using Dataplane.Io.Netns;
using Dataplane.Tests.Infrastructure;

namespace Dataplane.Tests.Io.Os;

[Trait("Category", "e2e")]
public sealed class NetworkNamespaceTests : IDisposable
{
    private readonly TestNamespaces _test = new();

    public void Dispose() => _test.Dispose();

    [RootFact]
    public void Create_makes_a_namespace_ip_netns_sees_and_Delete_removes_it()
    {
        string name = _test.NewName();

        using (NetworkNamespace ns = NetworkNamespace.Create(name))
        {
            Assert.Equal(name, ns.Name);
            Assert.Equal($"/var/run/netns/{name}", ns.Path);
            Assert.Contains(name, TestNamespaces.ListNamespaces());
            Assert.True(NetworkNamespace.Exists(name));
            // A fresh namespace: `ip -n` can enter it and finds only loopback.
            Assert.Equal(["lo"], TestNamespaces.LinkNames(name));
        }

        Assert.True(NetworkNamespace.Delete(name));
        Assert.DoesNotContain(name, TestNamespaces.ListNamespaces());
        Assert.False(NetworkNamespace.Exists(name));
        Assert.False(NetworkNamespace.Delete(name));
    }

    [RootFact]
    public void Create_makes_the_run_directory_a_shared_mount_like_iproute2()
    {
        using NetworkNamespace ns = NetworkNamespace.Create(_test.NewName());

        ProcessResult findmnt = ProcessRunner.Run(TestNamespaces.CommandTimeout, "findmnt", "-n", "-o", "PROPAGATION", "--target", NetworkNamespace.RunDirectory)
            .EnsureSuccess();
        Assert.StartsWith("shared", findmnt.StdOut.Trim(), StringComparison.Ordinal);
    }

    [RootFact]
    public void Create_of_an_existing_name_throws_EEXIST_naming_it()
    {
        string name = _test.Add();

        var e = Assert.Throws<ErrnoException>(() => NetworkNamespace.Create(name));

        Assert.Equal(Errno.EEXIST, e.Errno);
        Assert.Contains(name, e.Message, StringComparison.Ordinal);
        Assert.Contains("already exists", e.Message, StringComparison.Ordinal);
        Assert.Contains(name, TestNamespaces.ListNamespaces()); // untouched
    }

    [RootFact]
    public void Open_by_name_and_by_path_reach_the_namespace_ip_created()
    {
        string name = _test.Add();
        using NetworkNamespace byName = NetworkNamespace.Open(name);
        using NetworkNamespace byPath = NetworkNamespace.Open($"/var/run/netns/{name}");
        using NetworkNamespace host = NetworkNamespace.Open("/proc/thread-self/ns/net");

        string inside = byName.Run(CurrentNamespaceId);
        Assert.Equal(inside, byPath.Run(CurrentNamespaceId));
        Assert.NotEqual(host.Run(CurrentNamespaceId), inside);
        Assert.Equal(name, byPath.Name);
    }

    [RootFact]
    public void Open_of_a_missing_namespace_throws_ENOENT_naming_it()
    {
        string name = _test.NewName();

        var e = Assert.Throws<ErrnoException>(() => NetworkNamespace.Open(name));

        Assert.Equal(Errno.ENOENT, e.Errno);
        Assert.Contains(name, e.Message, StringComparison.Ordinal);
    }

    [RootFact]
    public void Open_of_a_file_that_is_not_a_namespace_throws_EINVAL()
    {
        string path = Path.GetTempFileName();
        try
        {
            var e = Assert.Throws<ErrnoException>(() => NetworkNamespace.Open(path));
            Assert.Equal(Errno.EINVAL, e.Errno);
            Assert.Contains("not a network namespace", e.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [RootFact]
    public void Run_works_inside_the_namespace_on_another_thread_and_leaves_the_caller_where_it_was()
    {
        using NetworkNamespace ns = NetworkNamespace.Create(_test.NewName());
        string before = CurrentNamespaceId();
        int callerThread = Environment.CurrentManagedThreadId;

        (string id, int thread, List<string> links) = ns.Run(() =>
        {
            using RtNetlink netlink = RtNetlink.Open();
            return (CurrentNamespaceId(), Environment.CurrentManagedThreadId, netlink.ListLinks().Select(l => l.Name).ToList());
        });

        Assert.NotEqual(before, id);
        Assert.NotEqual(callerThread, thread);
        Assert.Equal(["lo"], links);
        Assert.Equal(before, CurrentNamespaceId());
    }

    [RootFact]
    public void Run_rethrows_the_works_exception()
    {
        using NetworkNamespace ns = NetworkNamespace.Create(_test.NewName());

        var e = Assert.Throws<InvalidOperationException>(() => ns.Run(() => throw new InvalidOperationException("boom inside")));

        Assert.Equal("boom inside", e.Message);
    }

    [RootFact]
    public void A_netlink_socket_opened_inside_stays_bound_to_the_namespace()
    {
        string name = _test.NewName();
        using NetworkNamespace ns = NetworkNamespace.Create(name);
        using RtNetlink netlink = ns.OpenNetlink();

        // Used from this (host) thread, it still acts inside the namespace.
        netlink.CreateBridge("dpt-br0");

        Assert.Contains("dpt-br0", TestNamespaces.LinkNames(name));
        Assert.False(TestNamespaces.HostLinkExists("dpt-br0"));
        Assert.Equal(name, netlink.NamespaceLabel);
    }

    /// <summary>"net:[4026531840]": the calling thread's network namespace identity.</summary>
    private static string CurrentNamespaceId() => new FileInfo("/proc/thread-self/ns/net").LinkTarget!;
}
