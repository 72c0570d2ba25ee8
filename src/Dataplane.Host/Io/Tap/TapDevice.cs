namespace Dataplane.Io.Tap;

/// <summary>
/// A TAP device (IFF_TAP | IFF_NO_PI, optionally IFF_VNET_HDR) and its non-blocking, close-on-exec fd.
/// Unless <see cref="TapOptions.Persistent"/>, the device exists exactly as long as the fd, so
/// <see cref="Dispose"/> removes it from whatever namespace it was moved to (the kernel unregisters a
/// non-persistent tun/tap on the last close). IFF_TUN_EXCL makes <see cref="Create"/> fail with EBUSY rather
/// than attach to an existing device, so the device we close is always one we made; <see cref="Attach"/> is
/// the deliberate way back to a persistent one.
/// </summary>
public sealed class TapDevice : IDisposable
{
    private const string TunPath = "/dev/net/tun";

    private TapDevice(string name, SafeFileDescriptor fd, int vnetHeaderSize, TapOffloads offloads)
    {
        Name = name;
        Fd = fd;
        VnetHeaderSize = vnetHeaderSize;
        Offloads = offloads;
    }

    /// <summary>The name the kernel gave the device at creation (it follows a "%d" template if one was given).
    /// Moving or renaming the device later does not change this property.</summary>
    public string Name { get; }

    public SafeFileDescriptor Fd { get; }

    /// <summary>Bytes of virtio-net header before each frame on the fd; 0 without IFF_VNET_HDR.</summary>
    public int VnetHeaderSize { get; }

    public TapOffloads Offloads { get; }

    /// <summary>
    /// Creates the TAP in the calling thread's network namespace. Throws <see cref="ErrnoException"/> naming
    /// the device and the errno if the kernel refuses (EBUSY: a device of that name exists; EPERM: no
    /// CAP_NET_ADMIN).
    /// </summary>
    public static TapDevice Create(string name, TapOptions? options = null) => Open(name, options, attach: false);

    /// <summary>
    /// Attaches to the existing persistent TAP <paramref name="name"/> in the calling thread's namespace (one an earlier
    /// daemon made), with <paramref name="options"/> set again on the new fd. ENODEV-like failures name the device;
    /// EBUSY means another process holds it (a daemon still running).
    /// </summary>
    public static TapDevice Attach(string name, TapOptions options) => Open(name, options, attach: true);

    private static unsafe TapDevice Open(string name, TapOptions? options, bool attach)
    {
        options ??= TapOptions.Default;
        InterfaceName.Validate(name, nameof(name), allowTemplate: true);
        if (options.VnetHeader && options.VnetHeaderSize is not (VirtioNetHeader.LegacySize or VirtioNetHeader.Size))
        {
            throw new ArgumentException(
                $"VnetHeaderSize must be {VirtioNetHeader.LegacySize} or {VirtioNetHeader.Size}, not {options.VnetHeaderSize}", nameof(options));
        }

        if (options.Offloads != TapOffloads.None)
        {
            if (!options.VnetHeader)
            {
                throw new ArgumentException("TAP offloads need VnetHeader: without it the kernel cannot describe partial checksums or GSO frames", nameof(options));
            }

            if ((options.Offloads & TapOffloads.Checksum) == 0)
            {
                throw new ArgumentException("every TAP offload needs TapOffloads.Checksum (the kernel rejects TSO/USO without TUN_F_CSUM)", nameof(options));
            }
        }

        int raw = Interop.Libc.open(TunPath, Interop.Libc.O_RDWR | Interop.Libc.O_NONBLOCK | Interop.Libc.O_CLOEXEC, 0);
        if (raw < 0)
        {
            throw ErrnoException.FromLastError($"open {TunPath} for TAP '{name}'");
        }

        var fd = new SafeFileDescriptor(raw, ownsHandle: true);

        try
        {
            Interop.Libc.ifreq ifr = default;
            InterfaceName.CopyTo(name, ifr.ifr_name);
            ifr.ifr_flags = (short)(Interop.Libc.IFF_TAP | Interop.Libc.IFF_NO_PI | (attach ? 0 : Interop.Libc.IFF_TUN_EXCL)
                | (options.VnetHeader ? Interop.Libc.IFF_VNET_HDR : 0));
            if (Interop.Libc.ioctl(fd, Interop.Libc.TUNSETIFF, &ifr) < 0)
            {
                int errno = Interop.Libc.GetLastErrno();
                string hint = errno switch
                {
                    Errno.EBUSY => attach ? " (another process has it open)" : " (a device of that name already exists)",
                    Errno.EPERM => " (needs CAP_NET_ADMIN)",
                    _ => "",
                };
                throw new ErrnoException($"TUNSETIFF {(attach ? "attaching to" : "creating")} TAP '{name}' failed: {Errno.Describe(errno)}{hint}", errno);
            }

            if (!attach && options.Persistent && Interop.Libc.ioctl(fd, Interop.Libc.TUNSETPERSIST, (nuint)1) < 0)
            {
                throw ErrnoException.FromLastError($"TUNSETPERSIST on TAP '{name}'");
            }

            // The kernel writes the final name back (it differs from ours only for "%d" templates).
            string actualName = InterfaceName.ReadFrom(ifr.ifr_name);
            int vnetHeaderSize = 0;
            if (options.VnetHeader)
            {
                vnetHeaderSize = options.VnetHeaderSize;
                int size = vnetHeaderSize;
                if (Interop.Libc.ioctl(fd, Interop.Libc.TUNSETVNETHDRSZ, &size) < 0)
                {
                    throw ErrnoException.FromLastError($"TUNSETVNETHDRSZ({vnetHeaderSize}) on TAP '{actualName}'");
                }

                // TUNSETOFFLOAD takes the flags by value, not by pointer.
                if (Interop.Libc.ioctl(fd, Interop.Libc.TUNSETOFFLOAD, (nuint)(uint)options.Offloads) < 0)
                {
                    throw ErrnoException.FromLastError($"TUNSETOFFLOAD({options.Offloads}) on TAP '{actualName}'");
                }
            }

            return new TapDevice(actualName, fd, vnetHeaderSize, options.Offloads);
        }
        catch
        {
            if (!attach && options.Persistent)
            {
                _ = Interop.Libc.ioctl(fd, Interop.Libc.TUNSETPERSIST, (nuint)0);
            }

            fd.Dispose(); // removes the half-made device (an attached one stays as it was)
            throw;
        }
    }

    /// <summary>Removes the device even if it is persistent: persistence off, then the last close unregisters it.</summary>
    public void Remove()
    {
        if (!Fd.IsClosed)
        {
            _ = Interop.Libc.ioctl(Fd, Interop.Libc.TUNSETPERSIST, (nuint)0);
        }

        Fd.Dispose();
    }

    /// <summary>
    /// Reads one frame (preceded by the virtio-net header when <see cref="VnetHeaderSize"/> is not 0).
    /// Returns the byte count, or a negative errno: -EAGAIN when nothing is queued (normal), -EBADFD if the
    /// device was deleted under us. A buffer shorter than the frame gets a truncated frame.
    /// </summary>
    public unsafe int Read(Span<byte> buffer)
    {
        fixed (byte* p = buffer)
        {
            nint n = Interop.Libc.read(Fd, p, (nuint)buffer.Length);
            return n >= 0 ? (int)n : -Interop.Libc.GetLastErrno();
        }
    }

    /// <summary>
    /// Writes one frame (with its virtio-net header first when <see cref="VnetHeaderSize"/> is not 0) into the
    /// device, as if it arrived on the pod's eth0. Returns the byte count or a negative errno
    /// (-EAGAIN if the device's queue is full, -EINVAL for a malformed frame or header, -EIO while it is down).
    /// </summary>
    public unsafe int Write(ReadOnlySpan<byte> frame)
    {
        fixed (byte* p = frame)
        {
            nint n = Interop.Libc.write(Fd, p, (nuint)frame.Length);
            return n >= 0 ? (int)n : -Interop.Libc.GetLastErrno();
        }
    }

    /// <summary>
    /// Reads one frame with its virtio-net header split off into <paramref name="header"/> (readv): the
    /// frame lands at the start of <paramref name="frame"/> with no copy. Give a header span of exactly
    /// <see cref="VnetHeaderSize"/> bytes. Returns header + frame bytes, or a negative errno as <see cref="Read(Span{byte})"/>.
    /// </summary>
    public unsafe int Read(Span<byte> header, Span<byte> frame)
    {
        fixed (byte* h = header)
        fixed (byte* f = frame)
        {
            Interop.Libc.iovec* iov = stackalloc Interop.Libc.iovec[2];
            iov[0] = new Interop.Libc.iovec { iov_base = h, iov_len = (nuint)header.Length };
            iov[1] = new Interop.Libc.iovec { iov_base = f, iov_len = (nuint)frame.Length };
            nint n = Interop.Libc.readv(Fd, iov, 2);
            return n >= 0 ? (int)n : -Interop.Libc.GetLastErrno();
        }
    }

    /// <summary>
    /// Writes one frame preceded by <paramref name="header"/> (the virtio-net header) in a single writev, so
    /// the header need not be copied in front of the frame. Returns the total bytes or a negative errno.
    /// </summary>
    public unsafe int Write(ReadOnlySpan<byte> header, ReadOnlySpan<byte> frame)
    {
        fixed (byte* h = header)
        fixed (byte* f = frame)
        {
            Interop.Libc.iovec* iov = stackalloc Interop.Libc.iovec[2];
            iov[0] = new Interop.Libc.iovec { iov_base = h, iov_len = (nuint)header.Length };
            iov[1] = new Interop.Libc.iovec { iov_base = f, iov_len = (nuint)frame.Length };
            nint n = Interop.Libc.writev(Fd, iov, 2);
            return n >= 0 ? (int)n : -Interop.Libc.GetLastErrno();
        }
    }

    /// <summary>Closes the fd, which removes the device unless it is persistent (then it stays for the next attach).</summary>
    public void Dispose() => Fd.Dispose();

    public override string ToString() => $"tap {Name} ({Fd})";
}
