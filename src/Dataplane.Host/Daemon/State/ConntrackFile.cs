using System.Buffers.Binary;
using System.IO.MemoryMappedFiles;
using System.Numerics;
using System.Runtime.InteropServices;
using Dataplane.Conntrack;

namespace Dataplane.Daemon.State;

/// <summary>
/// Conntrack's entries in a file mapped shared (<c>conntrack</c> in the state directory, on /run's tmpfs by default),
/// so they outlive the daemon: a restart, an upgrade or a `kill -9` maps the same file again and every tracked flow,
/// its NAT and its state carry on (Cilium pins its BPF maps for the same reason). The workers write entries straight
/// into the mapping; nothing is copied or flushed, and a crash loses nothing the kernel's page cache holds.
/// <para>
/// The file starts with a one-page header, checked before anything is trusted:
/// <code>
///  0       8          12           16         20      24               40         44
///  +-------+----------+------------+----------+-------+----------------+----------+---- ... ---+
///  | magic | layout   | entry size | capacity | flags | boot id (16 B) | CRC32C   | zero  4096 |
///  +-------+----------+------------+----------+-------+----------------+----------+---- ... ---+
///  then capacity x 80-byte FlowEntry, then (flag 1: accounting) capacity x 4 counters
/// </code>
/// A file of another layout or entry size (another binary), another capacity or accounting (another config),
/// another boot (its deadlines are on a CLOCK_MONOTONIC that restarted) or a bad checksum or size is discarded with
/// the reason, never half-used; <see cref="ConntrackTable.Restore"/> then vets each entry.
/// </para>
/// </summary>
public sealed unsafe class ConntrackFile : ConntrackMemory
{
    public const string FileName = "conntrack";

    /// <summary>Bump when <see cref="FlowEntry"/>'s fields change meaning (its size is checked separately).</summary>
    public const uint LayoutVersion = 1;

    private const int HeaderBytes = 4096;
    private const int ChecksummedBytes = 40;
    private const ulong Magic = 0x314B_5254_4E43_5044; // "DPCNTRK1" little-endian

    private readonly MemoryMappedFile _file;
    private readonly MemoryMappedViewAccessor _view;
    private readonly byte* _base;
    private readonly bool _restored;
    private int _disposed;

    private ConntrackFile(string path, int capacity, bool accounting, MemoryMappedFile file, MemoryMappedViewAccessor view, bool restored)
        : base(capacity, accounting)
    {
        Path = path;
        _file = file;
        _view = view;
        _restored = restored;
        byte* pointer = null;
        view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
        _base = pointer + view.PointerOffset;
    }

    public string Path { get; }

    public override FlowEntry* Entries => (FlowEntry*)(_base + HeaderBytes);

    public override long* Counters => Accounting ? (long*)(_base + HeaderBytes + ((long)Capacity * sizeof(FlowEntry))) : null;

    public override bool Restored => _restored;

    /// <summary>
    /// Maps <paramref name="directory"/>/conntrack, taking over an earlier run's file when it is compatible.
    /// <paramref name="discarded"/> says why an existing file was not taken over (null when it was, or when there was
    /// none). Throws <see cref="IOException"/> (or <see cref="UnauthorizedAccessException"/>) when the file cannot be
    /// made at all.
    /// </summary>
    public static ConntrackFile Open(string directory, int capacity, bool accounting, out string? discarded)
    {
        string path = System.IO.Path.Combine(directory, FileName);
        long length = HeaderBytes + BytesFor(capacity, accounting);
        Span<byte> expected = stackalloc byte[ChecksummedBytes + 4];
        WriteHeader(expected, capacity, accounting);
        discarded = null;
        bool restored = false;
        if (File.Exists(path))
        {
            discarded = Incompatibility(path, length, expected, capacity, accounting);
            restored = discarded is null;
        }

        if (!restored)
        {
            // A fresh file: written whole under a temporary name and renamed, so a crash here never leaves a header
            // over entries it does not describe. Sparse: tmpfs gives pages as entries are first written.
            string fresh = path + ".new";
            using (var stream = new FileStream(fresh, new FileStreamOptions
            {
                Mode = FileMode.Create, Access = FileAccess.ReadWrite, UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
            }))
            {
                stream.SetLength(length);
                stream.Write(expected);
            }

            File.Move(fresh, path, overwrite: true);
        }

        MemoryMappedFile file = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.ReadWrite);
        try
        {
            MemoryMappedViewAccessor view = file.CreateViewAccessor(0, length, MemoryMappedFileAccess.ReadWrite);
            return new ConntrackFile(path, capacity, accounting, file, view, restored);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    public override void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _view.SafeMemoryMappedViewHandle.ReleasePointer();
            _view.Dispose();
            _file.Dispose();
        }

        base.Dispose();
    }

    /// <summary>Why the file at <paramref name="path"/> cannot be taken over, or null when it can.</summary>
    private static string? Incompatibility(string path, long length, ReadOnlySpan<byte> expected, int capacity, bool accounting)
    {
        Span<byte> header = stackalloc byte[ChecksummedBytes + 4];
        long actualLength;
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read);
            actualLength = stream.Length;
            if (stream.ReadAtLeast(header, header.Length, throwOnEndOfStream: false) < header.Length)
            {
                return $"{path} is {actualLength} bytes, too short for its header";
            }
        }
        catch (IOException ex)
        {
            return $"{path} cannot be read: {ex.Message}";
        }

        if (BinaryPrimitives.ReadUInt64LittleEndian(header) != Magic)
        {
            return $"{path} is not a conntrack file (bad magic)";
        }

        if (BinaryPrimitives.ReadUInt32LittleEndian(header[ChecksummedBytes..]) != Checksum(header[..ChecksummedBytes]))
        {
            return $"{path} has a corrupt header (checksum mismatch)";
        }

        uint layout = BinaryPrimitives.ReadUInt32LittleEndian(header[8..]);
        uint entrySize = BinaryPrimitives.ReadUInt32LittleEndian(header[12..]);
        if (layout != LayoutVersion || entrySize != (uint)sizeof(FlowEntry))
        {
            return $"{path} has entry layout {layout} ({entrySize} bytes), this binary uses {LayoutVersion} ({sizeof(FlowEntry)} bytes)";
        }

        uint oldCapacity = BinaryPrimitives.ReadUInt32LittleEndian(header[16..]);
        bool oldAccounting = (BinaryPrimitives.ReadUInt32LittleEndian(header[20..]) & 1) != 0;
        if (oldCapacity != (uint)capacity || oldAccounting != accounting)
        {
            return $"{path} holds {oldCapacity} entries (accounting {(oldAccounting ? "on" : "off")}), the config now asks for {capacity} ({(accounting ? "on" : "off")})";
        }

        if (!header[24..40].SequenceEqual(expected[24..40]))
        {
            return $"{path} is from before the last reboot (its deadlines are on another boot's clock)";
        }

        return actualLength != length ? $"{path} is {actualLength} bytes, not the {length} its header implies" : null;
    }

    private static void WriteHeader(Span<byte> header, int capacity, bool accounting)
    {
        header.Clear();
        BinaryPrimitives.WriteUInt64LittleEndian(header, Magic);
        BinaryPrimitives.WriteUInt32LittleEndian(header[8..], LayoutVersion);
        BinaryPrimitives.WriteUInt32LittleEndian(header[12..], (uint)sizeof(FlowEntry));
        BinaryPrimitives.WriteUInt32LittleEndian(header[16..], (uint)capacity);
        BinaryPrimitives.WriteUInt32LittleEndian(header[20..], accounting ? 1u : 0u);
        BootId().CopyTo(header[24..40]);
        BinaryPrimitives.WriteUInt32LittleEndian(header[ChecksummedBytes..], Checksum(header[..ChecksummedBytes]));
    }

    private static uint Checksum(ReadOnlySpan<byte> bytes)
    {
        uint crc = 0;
        foreach (ulong word in MemoryMarshal.Cast<byte, ulong>(bytes))
        {
            crc = BitOperations.Crc32C(crc, word);
        }

        return crc;
    }

    /// <summary>This boot's id (the kernel's random boot_id): deadlines on CLOCK_MONOTONIC mean nothing across a reboot.</summary>
    private static byte[] BootId()
    {
        try
        {
            return Guid.Parse(File.ReadAllText("/proc/sys/kernel/random/boot_id").Trim()).ToByteArray();
        }
        catch (Exception ex) when (ex is IOException or FormatException or UnauthorizedAccessException)
        {
            return new byte[16];
        }
    }
}
