using Dataplane.Ingress.Tls;
using Dataplane.Kubernetes;
using k8s.Models;

namespace Dataplane.Ingress.Routing;

/// <summary>
/// networking.k8s.io/v1 Ingresses, with the Services, EndpointSlices, IngressClasses and Secrets they use, into a
/// <see cref="RoutingSnapshot"/>, with the Kubernetes Ingress spec's semantics and ingress-nginx's where the spec
/// leaves a choice:
/// <list type="bullet">
/// <item>Ingresses are taken oldest first (<c>creationTimestamp</c>, then <c>namespace/name</c>, as ingress-nginx
/// sorts them); when two define the same host, path and path type, the first wins and a warning names both.</item>
/// <item><c>defaultBackend</c>: the oldest Ingress with a default backend and no rules answers every request that no
/// host claims; an Ingress with rules lends its default backend to the hosts it is the first to define (what those
/// hosts answer when no path matches). Otherwise the controller's 404 answers.</item>
/// <item>A backend without a service, port or ready endpoint keeps its path, which answers 503, with a warning.</item>
/// <item>TLS: each <c>spec.tls[].hosts</c> entry gets the certificate of its <c>secretName</c>; a rule host no entry
/// lists takes a certificate of the same Ingress that covers it (its SAN), as ingress-nginx does. A broken Secret
/// leaves its hosts on the fallback certificate, with a warning naming the Ingress and the Secret.</item>
/// </list>
/// Nothing here throws for what objects hold: each problem is an <see cref="ObjectWarning"/> naming the Ingress, and
/// the rest is served. One translation at a time (the certificate cache is not shared).
/// </summary>
public sealed class IngressTranslator(string className = IngressClassSelector.DefaultClassName)
{
    private readonly SecretCertificates _certificates = new();

    public string ClassName { get; } = className;

    /// <summary>The snapshot the objects describe, numbered <paramref name="generation"/>.</summary>
    public RoutingSnapshot Translate(ClusterObjects objects, long generation)
    {
        ArgumentNullException.ThrowIfNull(objects);
        var selector = new IngressClassSelector(ClassName, objects.IngressClasses);
        var ours = new List<V1Ingress>();
        int ignored = 0;
        foreach (V1Ingress ingress in objects.Ingresses)
        {
            if (string.IsNullOrEmpty(ingress.Metadata?.Name))
            {
                continue;
            }

            if (selector.IsOurs(ingress))
            {
                ours.Add(ingress);
            }
            else
            {
                ignored++;
            }
        }

        ours.Sort(Older);
        var run = new IngressTranslation(new ServiceBackends(objects.Services, objects.EndpointSlices), objects.Secrets, _certificates);
        foreach (V1Ingress ingress in ours)
        {
            run.Add(ingress);
        }

        RoutingSnapshot snapshot = run.Build(generation, ours.Count, ignored);
        _certificates.Sweep();
        return snapshot;
    }

    /// <summary>ingress-nginx's order: older first; at the same second (or without timestamps), by namespace/name.</summary>
    private static int Older(V1Ingress a, V1Ingress b)
    {
        int byTime = Nullable.Compare(a.Metadata.CreationTimestamp, b.Metadata.CreationTimestamp);
        return byTime != 0 ? byTime : string.CompareOrdinal(IngressTranslation.KeyOf(a), IngressTranslation.KeyOf(b));
    }
}
