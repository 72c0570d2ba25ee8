using System.Buffers;

namespace Dataplane.Cni;

/// <summary>
/// The one name syntax CNI uses for container IDs and network names (libcni's <c>[a-zA-Z0-9][a-zA-Z0-9_.\-]*</c>):
/// safe as a path component, which is how IPAM plugins use both (host-local's dataDir/NETWORK/...).
/// </summary>
internal static class CniNames
{
    public const string Rule = "letters, digits, '_', '.' and '-', starting with a letter or digit";

    private static readonly SearchValues<char> s_allowed =
        SearchValues.Create("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-");

    public static bool IsValid(string name) =>
        name.Length > 0 && char.IsAsciiLetterOrDigit(name[0]) && !name.AsSpan(1).ContainsAnyExcept(s_allowed);
}
