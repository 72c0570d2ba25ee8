using System.Diagnostics.CodeAnalysis;
using Dataplane.Model;

namespace Dataplane.Kubernetes;

/// <summary>
/// What <see cref="ServiceTranslator"/> made of one Service, in one of three shapes:
/// <list type="bullet">
/// <item>served: <see cref="Service"/> is set (<see cref="Warnings"/> may still say what was trimmed: a port, an
/// external IP, the endpoints of one slice);</item>
/// <item>not this node's business: <see cref="SkipReason"/> says why (ExternalName, headless, another proxy's), for a
/// debug log, as kube-proxy skips these without a word;</item>
/// <item>refused: neither is set and <see cref="Warnings"/> says why (no ports, no usable cluster IP, too many
/// endpoints, a rule of <see cref="ServiceRules"/>).</item>
/// </list>
/// </summary>
/// <param name="Key">The service's key, <c>namespace/name</c> (<see cref="ServiceNames.Key"/>), in every shape, so a
/// caller can drop what it served before under that key.</param>
public sealed record ServiceTranslation(string Key, ServiceConfig? Service, string? SkipReason, IReadOnlyList<ObjectWarning> Warnings)
{
    [MemberNotNullWhen(true, nameof(Service))]
    public bool IsServed => Service is not null;
}
