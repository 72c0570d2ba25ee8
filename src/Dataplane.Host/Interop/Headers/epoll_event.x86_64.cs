using System.Runtime.InteropServices;

namespace Dataplane;

internal static partial class Interop
{
    internal static partial class Libc
    {
        /// <summary>
        /// struct epoll_event as x86_64 defines it: <c>__attribute__((packed))</c> (EPOLL_PACKED), so the 64-bit
        /// data follows the 32-bit events at offset 4 and the struct is 12 bytes. Every other 64-bit
        /// architecture (arm64 included) uses natural alignment: data at offset 8, 16 bytes. Code that uses
        /// this struct checks <see cref="IsEpollEventLayoutNative"/> first.
        /// </summary>
        [StructLayout(LayoutKind.Explicit, Size = 12)]
        internal struct epoll_event
        {
            [FieldOffset(0)] public uint events;
            [FieldOffset(4)] public ulong data;
        }

        /// <summary>True where the kernel's struct epoll_event has the packed 12-byte layout above.</summary>
        internal static bool IsEpollEventLayoutNative =>
            RuntimeInformation.ProcessArchitecture is Architecture.X64 or Architecture.X86;
    }
}
