using System.Runtime.ExceptionServices;
using Dataplane.Io.Netlink;

namespace Dataplane.Io.Netns;

/// <summary>
/// A network namespace held open by an fd: a named one under /var/run/netns (what `ip netns` manages), or
/// any namespace file (/proc/PID/ns/net, a CNI-provided path). Work runs inside it on a dedicated OS thread
/// that calls setns(2): namespaces are per thread on Linux, so the caller's thread, the main thread and the
/// thread pool never change namespace.
/// </summary>
public sealed class NetworkNamespace : IDisposable
{
    /// <summary>Where iproute2 keeps named namespaces (NETNS_RUN_DIR); /var/run is /run on current distributions.</summary>
    public const string RunDirectory = "/var/run/netns";

    // Serialises the one-time "make /var/run/netns a shared mount point" step within this process, so two
    // concurrent Create calls cannot both bind-mount the directory onto itself.
    private static readonly Lock s_runDirectoryLock = new();

    private NetworkNamespace(string path, string? name, SafeFileDescriptor handle)
    {
        Path = path;
        Name = name;
        Handle = handle;
    }

    /// <summary>The namespace file this was opened from.</summary>
    public string Path { get; }

    /// <summary>The `ip netns` name, or null when opened from a path outside <see cref="RunDirectory"/>.</summary>
    public string? Name { get; }

    /// <summary>The name, or the path when there is none: how messages refer to this namespace.</summary>
    public string Label => Name ?? Path;

    /// <summary>An fd on the namespace (for setns and IFLA_NET_NS_FD); it keeps the namespace alive while open.</summary>
    public SafeFileDescriptor Handle { get; }

    /// <summary>
    /// Resolves a name ("pod1", looked up in <see cref="RunDirectory"/>) or a path (anything with a '/').
    /// </summary>
    public static string PathOf(string nameOrPath)
    {
        ArgumentException.ThrowIfNullOrEmpty(nameOrPath);
        if (nameOrPath.Contains('/', StringComparison.Ordinal))
        {
            return nameOrPath;
        }

        ValidateName(nameOrPath);
        return $"{RunDirectory}/{nameOrPath}";
    }

    /// <summary>True if a namespace file of that name (or path) exists, i.e. `ip netns list` shows it.</summary>
    public static bool Exists(string nameOrPath) => File.Exists(PathOf(nameOrPath));

    /// <summary>
    /// Creates a named namespace the way `ip netns add` does (iproute2 ip/ipnetns.c): make /var/run/netns
    /// a shared mount point (so a later unmount propagates to every mount namespace and the namespace can be
    /// freed), create an empty file there, then on a dedicated thread unshare(CLONE_NEWNET) and bind-mount
    /// that thread's /proc/self/task/TID/ns/net onto the file. The bind mount is what keeps the namespace
    /// alive once the thread exits. Throws <see cref="ErrnoException"/> (EEXIST if the name is taken).
    /// </summary>
    public static NetworkNamespace Create(string name)
    {
        ValidateName(name);
        string path = PathOf(name);
        EnsureRunDirectory();

        int file = Interop.Libc.open(path, Interop.Libc.O_RDONLY | Interop.Libc.O_CREAT | Interop.Libc.O_EXCL | Interop.Libc.O_CLOEXEC, 0);
        if (file < 0)
        {
            int errno = Interop.Libc.GetLastErrno();
            throw errno == Errno.EEXIST
                ? new ErrnoException($"network namespace '{name}' already exists ({path})", errno)
                : ErrnoException.FromErrno($"creating the namespace file {path} for network namespace '{name}'", errno);
        }

        new SafeFileDescriptor(file, ownsHandle: true).Dispose();
        try
        {
            RunOnDedicatedThread($"netns create {name}", () =>
            {
                if (Interop.Libc.unshare(Interop.Libc.CLONE_NEWNET) < 0)
                {
                    throw ErrnoException.FromLastError($"unshare(CLONE_NEWNET) for network namespace '{name}'");
                }

                // /proc/self is the thread-group leader; this thread's namespace is under task/TID.
                string source = $"/proc/self/task/{Interop.Libc.gettid()}/ns/net";
                if (Interop.Libc.mount(source, path, "none", Interop.Libc.MS_BIND, 0) < 0)
                {
                    throw ErrnoException.FromLastError($"bind-mounting {source} onto {path} for network namespace '{name}'");
                }

                // The thread ends here, still inside the new namespace; nothing else ever runs on it.
                return 0;
            });
            return Open(path);
        }
        catch
        {
            // Like iproute2: undo the file (and the mount, if it got that far) so no half-made namespace stays.
            _ = Interop.Libc.umount2(path, Interop.Libc.MNT_DETACH);
            _ = Interop.Libc.unlink(path);
            throw;
        }
    }

    /// <summary>
    /// Opens an existing namespace by name or path. Throws <see cref="ErrnoException"/> if it does not exist
    /// (ENOENT) or the file is not a network namespace (EINVAL), e.g. an empty file left by a crashed create.
    /// </summary>
    public static NetworkNamespace Open(string nameOrPath)
    {
        string path = PathOf(nameOrPath);
        string? name = path.StartsWith(RunDirectory + "/", StringComparison.Ordinal) ? path.Substring(RunDirectory.Length + 1) : null;
        return OpenPath(path, name, name ?? path);
    }

    /// <summary>
    /// Deletes a named namespace like `ip netns delete`: umount2(MNT_DETACH) then unlink. The kernel frees the
    /// namespace (and destroys its virtual devices) once nothing else holds it: no process or thread inside,
    /// no open fd on it, no socket created in it. Returns false if there was no such namespace.
    /// </summary>
    public static bool Delete(string nameOrPath)
    {
        string path = PathOf(nameOrPath);
        _ = Interop.Libc.umount2(path, Interop.Libc.MNT_DETACH); // fails harmlessly if not mounted
        if (Interop.Libc.unlink(path) < 0)
        {
            int errno = Interop.Libc.GetLastErrno();
            if (errno == Errno.ENOENT)
            {
                return false;
            }

            throw ErrnoException.FromErrno($"removing {path} of network namespace '{nameOrPath}'", errno);
        }

        return true;
    }

    /// <summary>
    /// Runs <paramref name="work"/> inside this namespace on a new OS thread (setns, work, setns back, exit)
    /// and waits for it; its exception is rethrown here with its original stack.
    /// The work must be synchronous and must not create threads: a thread inherits its creator's namespace,
    /// so anything that can start one from inside (Task.Run, await, timers, the first use of a thread-pool
    /// feature) could leave a pool thread in this namespace for good. Sockets and netlink clients opened
    /// inside stay bound to this namespace and can be used from any thread afterwards.
    /// </summary>
    public T Run<T>(Func<T> work)
    {
        ArgumentNullException.ThrowIfNull(work);
        ObjectDisposedException.ThrowIf(Handle.IsClosed, this);
        return RunOnDedicatedThread($"netns {Label}", () =>
        {
            using SafeFileDescriptor home = OpenThreadNamespaceFd();
            if (Interop.Libc.setns(Handle, Interop.Libc.CLONE_NEWNET) < 0)
            {
                throw ErrnoException.FromLastError($"setns into network namespace '{Label}'");
            }

            try
            {
                return work();
            }
            finally
            {
                // Go home before the thread ends, so nothing the runtime does on this thread afterwards
                // happens inside the namespace. If it fails the thread still ends right after.
                _ = Interop.Libc.setns(home, Interop.Libc.CLONE_NEWNET);
            }
        });
    }

    /// <inheritdoc cref="Run{T}(Func{T})"/>
    public void Run(Action work)
    {
        ArgumentNullException.ThrowIfNull(work);
        Run(() =>
        {
            work();
            return 0;
        });
    }

    /// <summary>
    /// The kernel's name for this namespace (<c>net:[4026532281]</c>), the same whichever path opened it. Read from
    /// inside (a thread's own /proc/thread-self/ns/net): the fd's /proc link names the bind mount's path instead.
    /// </summary>
    public string Identity => Run(static () => new FileInfo("/proc/thread-self/ns/net").LinkTarget)
        ?? throw new IOException($"cannot read the identity of network namespace '{Label}'");

    /// <summary>
    /// Processes whose network namespace this is (by /proc/PID/ns/net), not counting ours. A namespace with a process
    /// inside is never deleted by the daemon or `dataplane cleanup`: deleting its name would cut a running pod off for
    /// good while it keeps running. Processes that end or start during the scan are missed or skipped harmlessly.
    /// </summary>
    public IReadOnlyList<int> ProcessesInside()
    {
        string identity = Identity;
        var inside = new List<int>();
        int self = Environment.ProcessId;
        foreach (string directory in System.IO.Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(System.IO.Path.GetFileName(directory), out int pid) || pid == self)
            {
                continue;
            }

            try
            {
                if (new FileInfo(System.IO.Path.Combine(directory, "ns", "net")).LinkTarget == identity)
                {
                    inside.Add(pid);
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // Gone meanwhile, or a kernel thread's: not a process of this namespace.
            }
        }

        return inside;
    }

    /// <summary>An rtnetlink client bound to this namespace (opened from inside it; usable from any thread).</summary>
    public RtNetlink OpenNetlink() => Run(() => RtNetlink.Open(Label));

    public void Dispose() => Handle.Dispose();

    public override string ToString() => $"netns {Label}";

    private static NetworkNamespace OpenPath(string path, string? name, string label)
    {
        int raw = Interop.Libc.open(path, Interop.Libc.O_RDONLY | Interop.Libc.O_CLOEXEC, 0);
        if (raw < 0)
        {
            int errno = Interop.Libc.GetLastErrno();
            throw errno == Errno.ENOENT
                ? new ErrnoException($"network namespace '{label}' does not exist ({path})", errno)
                : ErrnoException.FromErrno($"opening network namespace '{label}' ({path})", errno);
        }

        var fd = new SafeFileDescriptor(raw, ownsHandle: true);

        int type = Interop.Libc.ioctl(fd, Interop.Libc.NS_GET_NSTYPE, 0);
        if (type != Interop.Libc.CLONE_NEWNET)
        {
            int errno = type < 0 ? Interop.Libc.GetLastErrno() : 0;
            fd.Dispose();
            throw new ErrnoException(
                $"'{path}' is not a network namespace" + (errno == 0 ? $" (namespace type 0x{type:x})" : $": NS_GET_NSTYPE says {Errno.Describe(errno)}"),
                Errno.EINVAL);
        }

        return new NetworkNamespace(path, name, fd);
    }

    private static SafeFileDescriptor OpenThreadNamespaceFd()
    {
        int raw = Interop.Libc.open("/proc/thread-self/ns/net", Interop.Libc.O_RDONLY | Interop.Libc.O_CLOEXEC, 0);
        if (raw < 0)
        {
            throw ErrnoException.FromLastError("opening /proc/thread-self/ns/net");
        }

        return new SafeFileDescriptor(raw, ownsHandle: true);
    }

    private static void EnsureRunDirectory()
    {
        lock (s_runDirectoryLock)
        {
            const uint mode = Interop.Libc.S_IRWXU | Interop.Libc.S_IRGRP | Interop.Libc.S_IXGRP | Interop.Libc.S_IROTH | Interop.Libc.S_IXOTH;
            if (Interop.Libc.mkdir(RunDirectory, mode) < 0 && Interop.Libc.GetLastErrno() != Errno.EEXIST)
            {
                throw ErrnoException.FromLastError($"mkdir {RunDirectory}");
            }

            // Make namespace mounts propagate between mount namespaces, so unmounting a namespace file in one
            // (ours) unmounts it everywhere and the namespace can be freed. EINVAL means the directory is not a
            // mount point yet: bind-mount it onto itself once, then make that shared.
            bool boundOntoItself = false;
            while (Interop.Libc.mount("", RunDirectory, "none", Interop.Libc.MS_SHARED | Interop.Libc.MS_REC, 0) < 0)
            {
                int errno = Interop.Libc.GetLastErrno();
                if (errno != Errno.EINVAL || boundOntoItself)
                {
                    throw ErrnoException.FromErrno($"mount --make-shared {RunDirectory}", errno);
                }

                if (Interop.Libc.mount(RunDirectory, RunDirectory, "none", Interop.Libc.MS_BIND | Interop.Libc.MS_REC, 0) < 0)
                {
                    throw ErrnoException.FromLastError($"mount --bind {RunDirectory} {RunDirectory}");
                }

                boundOntoItself = true;
            }
        }
    }

    private static void ValidateName(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (name is "." or ".." || name.Contains('/', StringComparison.Ordinal) || name.Length > 255 || name.Any(char.IsControl))
        {
            throw new ArgumentException($"'{name}' is not a valid network namespace name", nameof(name));
        }
    }

    private static T RunOnDedicatedThread<T>(string threadName, Func<T> work)
    {
        T result = default!;
        ExceptionDispatchInfo? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                result = work();
            }
            catch (Exception e)
            {
                failure = ExceptionDispatchInfo.Capture(e);
            }
        })
        {
            IsBackground = true,
            Name = threadName,
        };

        // Join, not a Task: completing a Task from the namespace thread could queue continuations and make
        // the thread pool start a worker from this thread, which would inherit the namespace.
        thread.Start();
        thread.Join();
        failure?.Throw();
        return result;
    }
}
