using Dataplane.Ingress.Routing;
using Dataplane.Ingress.Tls;
using Dataplane.Kubernetes;
using k8s.Models;
using static Dataplane.Tests.Ingress.IngressModels;

namespace Dataplane.Tests.Ingress;

/// <summary>
/// Ingresses into routes, checked through <see cref="RoutingSnapshot.Match"/> (what a request with that host and path
/// is sent to) and the warnings: host and path precedence, default backends, class filtering, conflicts, backends that
/// cannot be reached, and TLS Secrets good and broken.
/// </summary>
[Trait("Category", "unit")]
public class IngressTranslatorTests
{
    private const string Ns = "shop";

    // web: port 80 named http with a named targetPort, resolved per slice (8080 in one slice, 8081 in another).
    private static readonly object[] s_services =
    [
        ServiceObject(Ns, "web", "10.96.0.10", ("http", 80, "web")),
        Slice(Ns, "web", "web-1", [("http", 8080)], ("10.244.1.10", true), ("10.244.1.11", false)),
        Slice(Ns, "web", "web-2", [("http", 8081)], ("10.244.2.10", true)),
        ServiceObject(Ns, "api", "10.96.0.11", (null, 8080, 9090)),
        Slice(Ns, "api", "api-1", [(null, 9090)], ("10.244.1.20", true)),
        ServiceObject(Ns, "other", "10.96.0.12", ("http", 80, 8080)),
        Slice(Ns, "other", "other-1", [("http", 8080)], ("10.244.1.30", true)),
        ServiceObject(Ns, "empty", "10.96.0.13", ("http", 80, 8080)),
    ];

    [Fact]
    public void An_exact_host_beats_a_wildcard_and_a_wildcard_covers_exactly_one_label()
    {
        RoutingSnapshot snapshot = Translate(IngressObject(Ns, "hosts",
        [
            Rule("a.foo.com", Path("/", "Prefix", "web", "http")),
            Rule("*.foo.com", Path("/", "Prefix", "api", 8080)),
            Rule(null, Path("/", "Prefix", "other", 80)),
        ]));

        Assert.Equal("shop/web", ServiceFor(snapshot, "a.foo.com", "/"));
        Assert.Equal("shop/api", ServiceFor(snapshot, "b.foo.com", "/"));
        // Not covered by *.foo.com: two labels deep, or foo.com itself. The rules without a host take them.
        Assert.Equal("shop/other", ServiceFor(snapshot, "c.b.foo.com", "/"));
        Assert.Equal("shop/other", ServiceFor(snapshot, "foo.com", "/"));
        Assert.Empty(snapshot.Warnings);
    }

    [Fact]
    public void The_longest_matching_path_wins_across_every_ingress_of_a_host()
    {
        RoutingSnapshot snapshot = Translate(
            IngressObject(Ns, "one", [Rule("a.com", Path("/", "Prefix", "web", "http"), Path("/api/v1", "Prefix", "other", 80))], ageRank: 1),
            IngressObject(Ns, "two", [Rule("a.com", Path("/api", "Prefix", "api", 8080))], ageRank: 2));

        Assert.Equal("shop/other", ServiceFor(snapshot, "a.com", "/api/v1/users"));
        Assert.Equal("shop/api", ServiceFor(snapshot, "a.com", "/api/v2"));
        Assert.Equal("shop/api", ServiceFor(snapshot, "a.com", "/api"));
        Assert.Equal("shop/web", ServiceFor(snapshot, "a.com", "/apix"));
        Assert.Equal("shop/web", ServiceFor(snapshot, "a.com", "/"));
    }

    [Fact]
    public void Exact_beats_prefix_at_equal_length_whichever_ingress_is_older()
    {
        RoutingSnapshot snapshot = Translate(
            IngressObject(Ns, "prefix", [Rule("a.com", Path("/foo/", "Prefix", "web", "http"))], ageRank: 1),
            IngressObject(Ns, "exact", [Rule("a.com", Path("/foo", "Exact", "api", 8080))], ageRank: 2));

        Assert.Equal("shop/api", ServiceFor(snapshot, "a.com", "/foo"));
        Assert.Equal("shop/web", ServiceFor(snapshot, "a.com", "/foo/"));
        Assert.Equal("shop/web", ServiceFor(snapshot, "a.com", "/foo/bar"));
        Assert.Null(ServiceFor(snapshot, "a.com", "/foobar"));
    }

    [Fact]
    public void Implementation_specific_paths_match_as_element_wise_prefixes()
    {
        RoutingSnapshot snapshot = Translate(IngressObject(Ns, "is", [Rule("a.com", Path("/app", "ImplementationSpecific", "web", "http"))]));

        Assert.Equal("shop/web", ServiceFor(snapshot, "a.com", "/app/x"));
        Assert.Null(ServiceFor(snapshot, "a.com", "/application"));
    }

    [Fact]
    public void A_host_with_rules_never_falls_through_to_the_rules_without_a_host()
    {
        RoutingSnapshot snapshot = Translate(IngressObject(Ns, "mixed",
        [
            Rule("a.com", Path("/only", "Prefix", "web", "http")),
            Rule("", Path("/", "Prefix", "other", 80)),
        ]));

        Assert.Equal("shop/web", ServiceFor(snapshot, "a.com", "/only"));
        Assert.Null(snapshot.Match("a.com", "/else"));
        Assert.Equal("shop/other", ServiceFor(snapshot, "b.com", "/else"));
    }

    [Fact]
    public void The_oldest_default_backend_without_rules_answers_what_no_host_claims()
    {
        RoutingSnapshot snapshot = Translate(
            IngressObject(Ns, "newer", [], ageRank: 2, defaultBackend: Backend("web", "http")),
            IngressObject(Ns, "older", [], ageRank: 1, defaultBackend: Backend("api", 8080)),
            IngressObject(Ns, "hosted", [Rule("a.com", Path("/x", "Prefix", "other", 80))], ageRank: 3));

        IngressRoute route = snapshot.Match("unknown.example", "/anything")!;
        Assert.Equal(("shop/api", "shop/older", true), (route.Backend.Service, route.Ingress, route.IsDefaultBackend));
        // A host that has rules answers 404 for what they do not match, as ingress-nginx's server for that host does.
        Assert.Null(snapshot.Match("a.com", "/y"));
        Assert.Equal("Ingress shop/newer: defaultBackend is not used: Ingress shop/older is older and already answers the requests no rule matches",
            Assert.Single(snapshot.Warnings).ToString());
    }

    [Fact]
    public void An_ingress_default_backend_answers_the_unmatched_paths_of_the_hosts_it_defines_first()
    {
        RoutingSnapshot snapshot = Translate(
            IngressObject(Ns, "first", [Rule("a.com", Path("/x", "Prefix", "web", "http"))], ageRank: 1, defaultBackend: Backend("other", 80)),
            IngressObject(Ns, "second", [Rule("a.com", Path("/y", "Prefix", "api", 8080)), Rule("b.com", Path("/z", "Prefix", "api", 8080))],
                ageRank: 2, defaultBackend: Backend("web", "http")));

        Assert.Equal("shop/api", ServiceFor(snapshot, "a.com", "/y"));
        Assert.Equal("shop/other", ServiceFor(snapshot, "a.com", "/nothing-here"));
        Assert.Equal("shop/web", ServiceFor(snapshot, "b.com", "/nothing-here"));
        Assert.Null(snapshot.Match("c.com", "/"));
        Assert.Equal("Ingress shop/second: defaultBackend is not used for host a.com: Ingress shop/first is older and defines that host first",
            Assert.Single(snapshot.Warnings).ToString());
    }

    [Fact]
    public void Only_ingresses_of_our_class_are_served()
    {
        RoutingSnapshot snapshot = Translate(
            IngressObject(Ns, "by-name", [Rule("name.com", Path("/", "Prefix", "web", "http"))], className: "dataplane"),
            IngressObject(Ns, "nginx", [Rule("nginx.com", Path("/", "Prefix", "web", "http"))], className: "nginx"),
            IngressObject(Ns, "by-controller", [Rule("controller.com", Path("/", "Prefix", "web", "http"))], className: "edge"),
            Class("edge", "dataplane.io/ingress-controller"),
            Class("nginx", "k8s.io/ingress-nginx"),
            IngressObject(Ns, "no-class", [Rule("none.com", Path("/", "Prefix", "web", "http"))], className: null),
            IngressObject(Ns, "annotated", [Rule("annotated.com", Path("/", "Prefix", "web", "http"))], className: null,
                annotations: new Dictionary<string, string> { ["kubernetes.io/ingress.class"] = "dataplane" }));

        Assert.Equal((3, 2), (snapshot.Ingresses, snapshot.IgnoredIngresses));
        Assert.Equal(["annotated.com", "controller.com", "name.com"], snapshot.Hosts.Select(static h => h.Host));
    }

    [Fact]
    public void Ingresses_without_a_class_are_ours_when_our_class_is_the_default_unless_annotated_for_another()
    {
        object[] ingresses =
        [
            IngressObject(Ns, "no-class", [Rule("none.com", Path("/", "Prefix", "web", "http"))], className: null),
            IngressObject(Ns, "annotated-nginx", [Rule("nginx.com", Path("/", "Prefix", "web", "http"))], className: null,
                annotations: new Dictionary<string, string> { ["kubernetes.io/ingress.class"] = "nginx" }),
        ];

        RoutingSnapshot notDefault = Translate([.. ingresses, Class("dataplane", "dataplane.io/ingress-controller")]);
        RoutingSnapshot isDefault = Translate([.. ingresses, Class("dataplane", "dataplane.io/ingress-controller", isDefault: true)]);
        RoutingSnapshot otherDefault = Translate([.. ingresses, Class("nginx", "k8s.io/ingress-nginx", isDefault: true)]);

        Assert.Empty(notDefault.Hosts);
        Assert.Equal("none.com", Assert.Single(isDefault.Hosts).Host);
        Assert.Empty(otherDefault.Hosts);
    }

    [Fact]
    public void Another_class_name_can_be_configured()
    {
        object[] ingresses =
        [
            IngressObject(Ns, "edge", [Rule("edge.com", Path("/", "Prefix", "web", "http"))], className: "edge"),
            IngressObject(Ns, "dataplane", [Rule("dataplane.com", Path("/", "Prefix", "web", "http"))], className: "dataplane"),
        ];

        RoutingSnapshot snapshot = new IngressTranslator("edge").Translate(Objects([.. s_services, .. ingresses]), 1);

        Assert.Equal("edge.com", Assert.Single(snapshot.Hosts).Host);
    }

    [Fact]
    public void Of_two_ingresses_defining_the_same_host_path_and_type_the_older_wins_and_a_warning_names_both()
    {
        // Listed newest first: the order of the list does not decide, creationTimestamp does.
        RoutingSnapshot snapshot = Translate(
            IngressObject(Ns, "a-new", [Rule("a.com", Path("/x", "Prefix", "api", 8080))], ageRank: 5),
            IngressObject(Ns, "z-old", [Rule("a.com", Path("/x/", "Prefix", "web", "http"))], ageRank: 1));

        Assert.Equal("shop/web", ServiceFor(snapshot, "a.com", "/x"));
        Assert.Equal("Ingress shop/a-new: host a.com path /x (Prefix) conflicts with Ingress shop/z-old, which is older and wins (backend shop/web:http); this Ingress's backend api:8080 is not used for it",
            Assert.Single(snapshot.Warnings).ToString());
    }

    [Fact]
    public void Of_two_conflicting_ingresses_created_the_same_second_the_first_by_namespace_and_name_wins()
    {
        RoutingSnapshot snapshot = Translate(
            IngressObject("b-ns", "first", [Rule("a.com", Path("/x", "Exact", "api", 8080))]),
            IngressObject("a-ns", "second", [Rule("a.com", Path("/x", "Exact", "web", "http"))]));

        IngressRoute route = snapshot.Match("a.com", "/x")!;
        Assert.Equal("a-ns/second", route.Ingress);
        Assert.StartsWith("Ingress b-ns/first: host a.com path /x (Exact) conflicts with Ingress a-ns/second",
            Assert.Single(snapshot.Warnings, static w => w.Problem.Contains("conflicts", StringComparison.Ordinal)).ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void A_backend_without_service_port_or_ready_endpoint_answers_503_with_a_warning_and_the_rest_is_served()
    {
        RoutingSnapshot snapshot = Translate(IngressObject(Ns, "bad",
        [
            Rule("a.com",
                Path("/ok", "Prefix", "web", "http"),
                Path("/no-service", "Prefix", "missing", 80),
                Path("/no-port", "Prefix", "web", 9999),
                Path("/no-port-name", "Prefix", "web", "grpc"),
                Path("/no-endpoints", "Prefix", "empty", "http")),
        ]));

        Assert.NotEmpty(snapshot.Match("a.com", "/ok")!.Backend.Destinations);
        foreach (string path in (string[])["/no-service", "/no-port", "/no-port-name", "/no-endpoints"])
        {
            IngressBackend backend = snapshot.Match("a.com", path)!.Backend;
            Assert.Empty(backend.Destinations);
            Assert.NotNull(backend.Problem);
        }

        Assert.Equal(
        [
            "Ingress shop/bad: host a.com path /no-service (Prefix): service shop/missing does not exist; answers 503",
            "Ingress shop/bad: host a.com path /no-port (Prefix): service shop/web has no TCP port 9999 (it has: 80 (http)); answers 503",
            "Ingress shop/bad: host a.com path /no-port-name (Prefix): service shop/web has no TCP port named 'grpc' (it has: 80 (http)); answers 503",
            "Ingress shop/bad: host a.com path /no-endpoints (Prefix): service shop/empty has no ready endpoint; answers 503",
        ], snapshot.Warnings.Select(static w => w.ToString()));
    }

    [Fact]
    public void A_named_service_port_resolves_to_each_slices_target_port_and_only_ready_endpoints_receive()
    {
        RoutingSnapshot snapshot = Translate(IngressObject(Ns, "ports",
        [
            Rule("a.com",
                Path("/by-name", "Prefix", "web", "http"),
                Path("/by-number", "Prefix", "web", 80),
                Path("/unnamed", "Prefix", "api", 8080)),
        ]));

        // 10.244.1.11 is not ready; 10.244.2.10's slice numbers the named port 8081.
        Assert.Equal(["10.244.1.10:8080", "10.244.2.10:8081"], snapshot.Match("a.com", "/by-name")!.Backend.Destinations);
        Assert.Equal(["10.244.1.10:8080", "10.244.2.10:8081"], snapshot.Match("a.com", "/by-number")!.Backend.Destinations);
        Assert.Equal(["10.244.1.20:9090"], snapshot.Match("a.com", "/unnamed")!.Backend.Destinations);
        Assert.Equal(["shop/api:8080", "shop/web:80", "shop/web:http"], snapshot.Backends.Select(static b => b.ClusterId));
    }

    [Fact]
    public void A_headless_service_is_a_backend_through_its_endpoints()
    {
        V1Service headless = ServiceObject(Ns, "db", "None", ("http", 80, 8080));
        headless.Spec.ClusterIPs = ["None"];
        RoutingSnapshot snapshot = Translate(
            headless, Slice(Ns, "db", "db-1", [("http", 8080)], ("10.244.3.10", true)),
            IngressObject(Ns, "headless", [Rule("a.com", Path("/", "Prefix", "db", "http"))]));

        Assert.Equal(["10.244.3.10:8080"], snapshot.Match("a.com", "/")!.Backend.Destinations);
        Assert.Empty(snapshot.Warnings);
    }

    [Fact]
    public void Bad_rules_are_left_out_with_a_warning_each_and_the_good_ones_kept()
    {
        V1HTTPIngressPath noBackend = Path("/no-backend", "Prefix", "web", "http");
        noBackend.Backend = null;
        RoutingSnapshot snapshot = Translate(IngressObject(Ns, "mixed",
        [
            Rule("10.0.0.1", Path("/", "Prefix", "web", "http")),
            Rule("a.com", Path("relative", "Prefix", "web", "http"), Path("/regex", "Regex", "web", "http"), noBackend, Path("/good", "Prefix", "web", "http")),
        ]));

        Assert.Equal("shop/web", ServiceFor(snapshot, "a.com", "/good"));
        Assert.Null(snapshot.Match("a.com", "/regex"));
        Assert.Null(snapshot.Match("a.com", "/no-backend"));
        Assert.Equal(
        [
            "Ingress shop/mixed: rules[0]: host '10.0.0.1' is an IP address; Ingress hosts are DNS names; the rule is left out",
            "Ingress shop/mixed: rules[1].http.paths[0]: path 'relative' does not start with '/'; the path is left out",
            "Ingress shop/mixed: rules[1].http.paths[1]: pathType 'Regex' is not Exact, Prefix or ImplementationSpecific; the path is left out",
            "Ingress shop/mixed: host a.com path /no-backend (Prefix): no backend; the path is left out",
        ], snapshot.Warnings.Select(static w => w.ToString()));
    }

    [Fact]
    public void Tls_hosts_get_their_secrets_certificate_and_a_broken_secret_leaves_its_host_on_the_fallback_with_a_warning()
    {
        TestCertificate a = TestCertificate.Create("a.com");
        TestCertificate c = TestCertificate.Create("c.com");
        TestCertificate d = TestCertificate.Create("d.com");
        TestCertificate other = TestCertificate.Create("other.com");
        V1Secret noKey = TlsSecret(Ns, "c-no-key", c.CertificatePem, c.KeyPem);
        noKey.Data.Remove("tls.key");
        string[] hosts = ["a.com", "b.com", "c.com", "d.com", "e.com"];
        RoutingSnapshot snapshot = Translate(
            TlsSecret(Ns, "a-tls", a.CertificatePem, a.KeyPem),
            noKey,
            TlsSecret(Ns, "d-garbage", "-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n", d.KeyPem),
            TlsSecret(Ns, "e-mismatch", d.CertificatePem, other.KeyPem),
            IngressObject(Ns, "tls", [.. hosts.Select(h => Rule(h, Path("/", "Prefix", "web", "http")))],
                tls: [Tls("a-tls", "a.com"), Tls("b-missing", "b.com"), Tls("c-no-key", "c.com"), Tls("d-garbage", "d.com"), Tls("e-mismatch", "e.com")]));

        Assert.Equal(a.Thumbprint, snapshot.Certificates.Select("a.com")?.Certificate.Thumbprint);
        Assert.Equal("CN=a.com", snapshot.Certificates.Select("A.COM")?.Subject);
        foreach (string broken in hosts[1..])
        {
            Assert.Null(snapshot.Certificates.Select(broken));
            Assert.Equal("shop/web", ServiceFor(snapshot, broken, "/"));
        }

        string[] warnings = [.. snapshot.Warnings.Select(static w => w.ToString())];
        Assert.Equal(4, warnings.Length);
        Assert.Equal("Ingress shop/tls: tls[1]: Secret shop/b-missing does not exist; b.com get the fallback certificate", warnings[0]);
        Assert.StartsWith("Ingress shop/tls: tls[2]: Secret shop/c-no-key has no tls.key", warnings[1], StringComparison.Ordinal);
        Assert.StartsWith("Ingress shop/tls: tls[3]: Secret shop/d-garbage cannot be used: ", warnings[2], StringComparison.Ordinal);
        Assert.StartsWith("Ingress shop/tls: tls[4]: Secret shop/e-mismatch cannot be used: ", warnings[3], StringComparison.Ordinal);
        Assert.All(warnings[1..], w => Assert.EndsWith("get the fallback certificate", w, StringComparison.Ordinal));
    }

    [Fact]
    public void A_wildcard_tls_host_serves_one_label_and_an_unlisted_rule_host_takes_a_certificate_that_covers_it()
    {
        TestCertificate wildcard = TestCertificate.Create("*.w.com");
        TestCertificate covering = TestCertificate.Create("s.com");
        RoutingSnapshot snapshot = Translate(
            TlsSecret(Ns, "wild", wildcard.CertificatePem, wildcard.KeyPem),
            TlsSecret(Ns, "covering", covering.CertificatePem, covering.KeyPem),
            IngressObject(Ns, "tls", [Rule("*.w.com", Path("/", "Prefix", "web", "http")), Rule("s.com", Path("/", "Prefix", "web", "http"))],
                tls: [Tls("wild", "*.w.com"), Tls("covering")]));

        Assert.Equal(wildcard.Thumbprint, snapshot.Certificates.Select("x.w.com")?.Certificate.Thumbprint);
        Assert.Null(snapshot.Certificates.Select("y.x.w.com"));
        Assert.Null(snapshot.Certificates.Select("w.com"));
        Assert.Equal(covering.Thumbprint, snapshot.Certificates.Select("s.com")?.Certificate.Thumbprint);
        Assert.Empty(snapshot.Warnings);
    }

    [Fact]
    public void Two_ingresses_naming_different_secrets_for_one_tls_host_the_older_wins_with_a_warning()
    {
        TestCertificate first = TestCertificate.Create("a.com");
        TestCertificate second = TestCertificate.Create("a.com");
        RoutingSnapshot snapshot = Translate(
            TlsSecret(Ns, "first", first.CertificatePem, first.KeyPem),
            TlsSecret(Ns, "second", second.CertificatePem, second.KeyPem),
            IngressObject(Ns, "newer", [Rule("a.com", Path("/b", "Prefix", "web", "http"))], ageRank: 2, tls: [Tls("second", "a.com")]),
            IngressObject(Ns, "older", [Rule("a.com", Path("/a", "Prefix", "web", "http"))], ageRank: 1, tls: [Tls("first", "a.com")]));

        Assert.Equal(first.Thumbprint, snapshot.Certificates.Select("a.com")?.Certificate.Thumbprint);
        Assert.Equal("Ingress shop/newer: tls[0]: host a.com conflicts with Ingress shop/older, which is older and wins (Secret shop/first); Secret shop/second is not used for it",
            Assert.Single(snapshot.Warnings).ToString());
    }

    [Fact]
    public void An_expired_certificate_is_served_with_a_warning()
    {
        TestCertificate expired = TestCertificate.Create(DateTimeOffset.UtcNow.AddDays(-1), "old.com");
        RoutingSnapshot snapshot = Translate(
            TlsSecret(Ns, "old", expired.CertificatePem, expired.KeyPem),
            IngressObject(Ns, "tls", [Rule("old.com", Path("/", "Prefix", "web", "http"))], tls: [Tls("old", "old.com")]));

        Assert.NotNull(snapshot.Certificates.Select("old.com"));
        Assert.Contains("Secret shop/old holds a certificate that expired on", Assert.Single(snapshot.Warnings).Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void A_rebuild_from_unchanged_objects_serves_the_same_and_an_endpoint_change_does_not()
    {
        TestCertificate a = TestCertificate.Create("a.com");
        object[] objects =
        [
            .. s_services,
            TlsSecret(Ns, "a-tls", a.CertificatePem, a.KeyPem),
            IngressObject(Ns, "web", [Rule("a.com", Path("/", "Prefix", "web", "http"))], tls: [Tls("a-tls", "a.com")]),
        ];
        var translator = new IngressTranslator();
        RoutingSnapshot first = translator.Translate(Objects(objects), 1);

        RoutingSnapshot same = translator.Translate(Objects([.. objects, ServiceObject(Ns, "unrelated", "10.96.0.99", ("http", 80, 80))]), 2);
        RoutingSnapshot moved = translator.Translate(Objects([.. objects, Slice(Ns, "web", "web-3", [("http", 8080)], ("10.244.9.9", true))]), 2);

        Assert.True(same.Serves(first));
        Assert.False(moved.Serves(first));
        // The certificate was parsed once: the same object serves both snapshots.
        Assert.Same(first.Certificates.Select("a.com"), same.Certificates.Select("a.com"));
    }

    private static RoutingSnapshot Translate(params object[] objects)
        => new IngressTranslator().Translate(Objects([.. s_services, .. objects]), 1);

    /// <summary>The service a request is sent to; null when it gets the 404 default backend.</summary>
    private static string? ServiceFor(RoutingSnapshot snapshot, string host, string path) => snapshot.Match(host, path)?.Backend.Service;
}
