using System.Runtime.InteropServices;

namespace Dataplane;

internal static partial class Interop
{
    internal static partial class Libc
    {
        // char *strerror(int errnum); not thread-safe for unknown values, so callers use StrError below,
        // which goes through Marshal.GetPInvokeErrorMessage (strerror_r underneath).
        [LibraryImport(Libraries.Libc, EntryPoint = "strerror")]
        internal static partial nint strerror(int errnum);

        /// <summary>errno of the last P/Invoke marked SetLastError (valid right after the failing call).</summary>
        internal static int GetLastErrno() => Marshal.GetLastPInvokeError();

        /// <summary>The C library's text for an errno value, e.g. "No such device".</summary>
        internal static string StrError(int errno) => Marshal.GetPInvokeErrorMessage(errno);
    }
}
