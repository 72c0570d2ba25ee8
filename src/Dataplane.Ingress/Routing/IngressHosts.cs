using System.Net;

namespace Dataplane.Ingress.Routing;

/// <summary>
/// Host names as Ingress rules and requests carry them. A rule's host is a DNS name, exact (<c>foo.bar.com</c>) or a
/// wildcard of exactly one label (<c>*.bar.com</c> matches <c>baz.bar.com</c>, not <c>bar.com</c> nor
/// <c>qux.baz.bar.com</c>), as the Ingress spec defines it. ASP.NET's host matching (and nginx's server_name) lets a
/// wildcard cover several labels, so matching is done here, on lowercased names, by looking up the name and then the
/// name less its first label.
/// </summary>
public static class IngressHosts
{
    /// <summary>A request's host (Kestrel's Host without the port, or the SNI name) as rules are keyed: lowercase, no trailing dot.</summary>
    public static string Normalize(string host)
    {
        // Hosts are ASCII (IDNs arrive punycoded); a trailing dot names the same host (nginx drops it too).
        string trimmed = host.EndsWith('.') ? host.TrimEnd('.') : host;
        return IsLowercase(trimmed) ? trimmed : trimmed.ToLowerInvariant();
    }

    /// <summary>
    /// What a one-label wildcard covering <paramref name="host"/> is keyed by: the host less its first label
    /// (<c>bar.com</c> for <c>baz.bar.com</c>), or null when the host has a single label.
    /// </summary>
    public static string? WildcardKeyOf(string host)
    {
        int dot = host.IndexOf('.');
        return dot > 0 && dot < host.Length - 1 ? host[(dot + 1)..] : null;
    }

    /// <summary>
    /// A rule's host, checked: "" (any host), a DNS name, or <c>*.</c> and a DNS name. Returns the lowercased host and
    /// whether it is a wildcard (then <paramref name="key"/> is the part after <c>*.</c>); null and a reason otherwise.
    /// </summary>
    public static string? Parse(string? host, out bool wildcard, out string key, out string? problem)
    {
        wildcard = false;
        key = "";
        problem = null;
        if (string.IsNullOrEmpty(host))
        {
            return "";
        }

        string lower = host.ToLowerInvariant();
        string name = lower;
        if (lower.StartsWith("*.", StringComparison.Ordinal))
        {
            wildcard = true;
            name = lower[2..];
        }

        if (IPAddress.TryParse(name, out _))
        {
            problem = $"host '{host}' is an IP address; Ingress hosts are DNS names";
            return null;
        }

        if (!IsDnsName(name))
        {
            problem = $"host '{host}' is not a DNS name{(name.Contains('*') ? " (a wildcard is '*.' followed by a name: one whole label)" : "")}";
            return null;
        }

        key = name;
        return lower;
    }

    /// <summary>RFC 1123 labels (letters, digits, hyphens; not starting or ending with a hyphen) joined by dots.</summary>
    private static bool IsDnsName(string name)
    {
        if (name.Length is 0 or > 253)
        {
            return false;
        }

        foreach (string label in name.Split('.'))
        {
            if (label.Length is 0 or > 63 || label[0] == '-' || label[^1] == '-')
            {
                return false;
            }

            foreach (char c in label)
            {
                if (!(char.IsAsciiLetterOrDigit(c) || c == '-'))
                {
                    return false;
                }
            }
        }

        return true;
    }

    private static bool IsLowercase(string s)
    {
        foreach (char c in s)
        {
            if (char.IsAsciiLetterUpper(c))
            {
                return false;
            }
        }

        return true;
    }
}
