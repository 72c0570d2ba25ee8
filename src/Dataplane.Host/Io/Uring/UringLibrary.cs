using System.Reflection;
using System.Runtime.InteropServices;

namespace Dataplane.Io.Uring;

/// <summary>
/// Whether native/libdpuring.so (the io_uring shim) can be loaded. The build copies it next to
/// Dataplane.Host.dll, where the runtime looks first; <see cref="PathVariable"/> names another file instead (an
/// operator's build, or a missing path to see the fallback). Checked once, before a worker relies on it, so a
/// missing library or a missing liburing.so.2 behind it is a log line and read/write, never a crash mid-loop.
/// </summary>
public static class UringLibrary
{
    /// <summary>Environment variable: the path of libdpuring.so to load instead of the one next to the assembly.</summary>
    public const string PathVariable = "DATAPLANE_DPURING";

    private static readonly Lazy<string?> s_problem = new(Probe);

    static UringLibrary()
    {
        NativeLibrary.SetDllImportResolver(typeof(UringLibrary).Assembly, Resolve);
    }

    /// <summary>Null when the library loads; otherwise why not, for the log.</summary>
    public static string? Problem => s_problem.Value;

    public static bool IsAvailable => Problem is null;

    private static string? Probe()
    {
        string? path = Environment.GetEnvironmentVariable(PathVariable);
        if (TryLoad(path, typeof(UringLibrary).Assembly, null, out _))
        {
            return null;
        }

        return path is null
            ? $"libdpuring.so was not found next to {Path.GetFileName(typeof(UringLibrary).Assembly.Location)} or on the library path (`make -C native` builds it; it needs liburing2)"
            : $"{PathVariable}={path} could not be loaded (missing, or liburing.so.2 is)";
    }

    private static bool TryLoad(string? overridePath, Assembly assembly, DllImportSearchPath? searchPath, out IntPtr handle) =>
        overridePath is not null
            ? NativeLibrary.TryLoad(overridePath, out handle)
            : NativeLibrary.TryLoad(Interop.Libraries.Dpuring, assembly, searchPath, out handle);

    /// <summary>Only "dpuring" is ours to resolve; everything else keeps the runtime's default probing (zero).</summary>
    private static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (name != Interop.Libraries.Dpuring)
        {
            return IntPtr.Zero;
        }

        return TryLoad(Environment.GetEnvironmentVariable(PathVariable), assembly, searchPath, out IntPtr handle) ? handle : IntPtr.Zero;
    }
}
