using System.Text;

namespace Dataplane.Io;

/// <summary>Checks Linux interface names the way the kernel's dev_valid_name() does, before a syscall can.</summary>
internal static class InterfaceName
{
    /// <summary>IFNAMSIZ - 1: the longest name the kernel accepts.</summary>
    public const int MaxLength = Interop.Libc.IFNAMSIZ - 1;

    public static void Validate(string name, string paramName, bool allowTemplate = false)
    {
        ArgumentException.ThrowIfNullOrEmpty(name, paramName);
        int bytes = Encoding.UTF8.GetByteCount(name);
        if (bytes > MaxLength)
        {
            throw new ArgumentException($"interface name '{name}' is {bytes} bytes; Linux allows at most {MaxLength}", paramName);
        }

        if (name is "." or "..")
        {
            throw new ArgumentException($"interface name '{name}' is not allowed", paramName);
        }

        foreach (char c in name)
        {
            if (c == '/' || c == ':' || char.IsWhiteSpace(c) || char.IsControl(c) || (c == '%' && !allowTemplate))
            {
                throw new ArgumentException($"interface name '{name}' contains '{c}', which Linux does not allow", paramName);
            }
        }
    }

    /// <summary>Copies the name, NUL-terminated, into a 16-byte ifr_name.</summary>
    public static unsafe void CopyTo(string name, byte* ifrName)
    {
        var dest = new Span<byte>(ifrName, Interop.Libc.IFNAMSIZ);
        dest.Clear();
        Encoding.UTF8.GetBytes(name, dest.Slice(0, MaxLength));
    }

    public static unsafe string ReadFrom(byte* ifrName)
    {
        var span = new ReadOnlySpan<byte>(ifrName, Interop.Libc.IFNAMSIZ);
        int nul = span.IndexOf((byte)0);
        return Encoding.UTF8.GetString(nul < 0 ? span : span.Slice(0, nul));
    }
}
