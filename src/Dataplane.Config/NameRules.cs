namespace Dataplane.Config;

/// <summary>
/// The shapes names must have. Each returns null when the name is fine, else the problem in words, so the loader
/// can put it straight into a <see cref="ConfigError"/>.
/// </summary>
internal static class NameRules
{
    /// <summary>Linux IFNAMSIZ is 16 including the NUL (include/uapi/linux/if.h).</summary>
    public const int MaxInterfaceName = 15;

    /// <summary>sun_path is 108 bytes including the NUL (include/uapi/linux/un.h).</summary>
    public const int MaxUnixSocketPath = 107;

    /// <summary>
    /// A DNS-1123 label, as Kubernetes requires for pod and service names: lowercase letters, digits and '-',
    /// starting and ending with a letter or digit, at most 63 characters. Pod names may be longer than a Linux
    /// interface name (15); the daemon derives short TAP names from them rather than refusing such pods.
    /// </summary>
    public static string? DnsLabelProblem(string name)
    {
        const string rule = "must be a DNS-1123 label: lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters";
        if (name.Length is 0 or > 63)
        {
            return $"'{name}' {rule}";
        }

        for (int i = 0; i < name.Length; i++)
        {
            char c = name[i];
            bool alnum = c is (>= 'a' and <= 'z') or (>= '0' and <= '9');
            bool inner = c == '-' && i > 0 && i < name.Length - 1;
            if (!alnum && !inner)
            {
                return $"'{name}' {rule}";
            }
        }

        return null;
    }

    /// <summary>
    /// A DNS-1123 subdomain, as Kubernetes requires for node names (<c>ip-10-0-1-5.ec2.internal</c>): dot-separated
    /// DNS-1123 labels, at most 253 characters.
    /// </summary>
    public static string? DnsSubdomainProblem(string name)
    {
        const string rule = "must be a DNS-1123 subdomain: dot-separated labels of lowercase letters, digits and '-', at most 253 characters";
        if (name.Length is 0 or > 253)
        {
            return $"'{name}' {rule}";
        }

        foreach (string label in name.Split('.'))
        {
            if (DnsLabelProblem(label) is not null)
            {
                return $"'{name}' {rule}";
            }
        }

        return null;
    }

    /// <summary>What the kernel's dev_valid_name() accepts (net/core/dev.c).</summary>
    public static string? InterfaceNameProblem(string name)
    {
        if (name.Length is 0 or > MaxInterfaceName)
        {
            return $"'{name}' must be 1..{MaxInterfaceName} characters (Linux IFNAMSIZ)";
        }

        if (name is "." or ".." || name.Any(static c => c is '/' or ':' || char.IsWhiteSpace(c)))
        {
            return $"'{name}' is not a valid interface name: no '/', ':' or whitespace, and not '.' or '..'";
        }

        return null;
    }

    /// <summary>Named network namespaces are files under /run/netns, so a name is one path component.</summary>
    public static string? NetnsNameProblem(string name)
    {
        if (name.Length is 0 or > 255 || name is "." or ".." || name.Any(static c => c == '/' || char.IsWhiteSpace(c) || char.IsControl(c)))
        {
            return $"'{name}' is not a valid network namespace name: 1..255 characters, no '/' or whitespace, and not '.' or '..'";
        }

        return null;
    }
}
