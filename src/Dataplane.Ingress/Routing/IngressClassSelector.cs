using k8s.Models;

namespace Dataplane.Ingress.Routing;

/// <summary>
/// Which Ingresses are ours, as ingress-nginx decides for its class:
/// <list type="bullet">
/// <item><c>spec.ingressClassName</c> is our class name (<c>dataplane</c>, or <c>--ingress-class</c>), or names an
/// IngressClass whose <c>spec.controller</c> is <see cref="ControllerName"/>;</item>
/// <item>without <c>ingressClassName</c>, the deprecated <c>kubernetes.io/ingress.class</c> annotation when present
/// (its value as above);</item>
/// <item>with neither, when one of our IngressClasses carries <c>ingressclass.kubernetes.io/is-default-class: "true"</c>
/// (the class the API server would have defaulted the Ingress to, had it existed at creation).</item>
/// </list>
/// Everything else is another controller's, and left alone without a word.
/// </summary>
public sealed class IngressClassSelector
{
    /// <summary>What our IngressClasses name in <c>spec.controller</c>.</summary>
    public const string ControllerName = "dataplane.io/ingress-controller";

    public const string DefaultClassName = "dataplane";

    public const string IsDefaultClassAnnotation = "ingressclass.kubernetes.io/is-default-class";

    public const string LegacyClassAnnotation = "kubernetes.io/ingress.class";

    private readonly HashSet<string> _ourClasses = new(StringComparer.Ordinal);

    public IngressClassSelector(string className, IEnumerable<V1IngressClass> classes)
    {
        ClassName = className;
        _ourClasses.Add(className);
        var ours = new List<V1IngressClass>();
        foreach (V1IngressClass c in classes)
        {
            string? name = c.Metadata?.Name;
            if (name is null)
            {
                continue;
            }

            if (name == className || c.Spec?.Controller == ControllerName)
            {
                _ourClasses.Add(name);
                ours.Add(c);
            }
        }

        IsDefault = ours.Any(static c => c.Metadata?.Annotations?.TryGetValue(IsDefaultClassAnnotation, out string? value) == true
            && string.Equals(value, "true", StringComparison.OrdinalIgnoreCase));
    }

    public string ClassName { get; }

    /// <summary>One of our IngressClasses is the cluster's default: Ingresses without a class are ours.</summary>
    public bool IsDefault { get; }

    public bool IsOurs(V1Ingress ingress)
    {
        if (ingress.Spec?.IngressClassName is { Length: > 0 } name)
        {
            return _ourClasses.Contains(name);
        }

        if (ingress.Metadata?.Annotations?.TryGetValue(LegacyClassAnnotation, out string? annotated) == true)
        {
            return _ourClasses.Contains(annotated);
        }

        return IsDefault;
    }
}
