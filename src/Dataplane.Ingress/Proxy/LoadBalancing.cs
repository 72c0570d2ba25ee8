namespace Dataplane.Ingress.Proxy;

/// <summary>How a backend's requests are spread over its endpoints (YARP's load-balancing policies).</summary>
public enum LoadBalancing
{
    /// <summary>Each endpoint in turn: ingress-nginx's default (its round_robin balancer).</summary>
    RoundRobin,

    /// <summary>Two endpoints at random, the one with fewer requests in flight: better under uneven request costs.</summary>
    PowerOfTwo,
}
