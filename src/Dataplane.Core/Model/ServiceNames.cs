namespace Dataplane.Model;

/// <summary>
/// A service's key is <c>namespace/name</c>, as Kubernetes (and kube-proxy's logs, and every ctl line here) names it:
/// two namespaces may each have a <c>web</c>. <see cref="ServiceConfig.Name"/> holds the key.
/// </summary>
public static class ServiceNames
{
    /// <summary>Where a service written without a namespace lives, as in <c>kubectl</c>.</summary>
    public const string DefaultNamespace = "default";

    public static string Key(string ns, string name) => $"{ns}/{name}";

    /// <summary>What a person typed (<c>web</c> or <c>shop/web</c>) as a key: a bare name is in the default namespace.</summary>
    public static string FromUserInput(string text) => text.Contains('/') ? text : Key(DefaultNamespace, text);

    /// <summary>The key's namespace and name; a key without a slash is a name in the default namespace.</summary>
    public static (string Namespace, string Name) Split(string key)
    {
        int slash = key.IndexOf('/');
        return slash < 0 ? (DefaultNamespace, key) : (key[..slash], key[(slash + 1)..]);
    }
}
