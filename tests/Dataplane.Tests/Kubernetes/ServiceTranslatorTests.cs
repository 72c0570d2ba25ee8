using Dataplane.Kubernetes;
using Dataplane.Model;
using Dataplane.Packets;
using k8s.Models;
using static Dataplane.Tests.Kubernetes.ApiObjects;

namespace Dataplane.Tests.Kubernetes;

/// <summary>
/// Services and their EndpointSlices, in the shape the API serves them, become the core's ServiceConfig as
/// kube-proxy would read them: target ports from the slices, conditions, families, exposure, and every object it
/// cannot use a warning naming it.
/// </summary>
[Trait("Category", "unit")]
public class ServiceTranslatorTests
{
    /// <summary>shop/web: one named port whose targetPort is the pods' named port `http`.</summary>
    private const string Web = """
        apiVersion: v1
        kind: Service
        metadata:
          name: web
          namespace: shop
        spec:
          clusterIP: 10.96.120.15
          clusterIPs:
          - 10.96.120.15
          ports:
          - name: http
            port: 80
            protocol: TCP
            targetPort: http
          type: ClusterIP
        """;

    [Fact]
    public void Kube_dns_takes_its_named_ports_from_its_slice()
    {
        ServiceTranslation dns = ClusterService("kube-system/kube-dns");

        var expected = new ServiceConfig(
            "kube-system/kube-dns", Ip4Address.Parse("10.96.0.10"), null, SessionAffinity.None, 10800, Scheduler.Maglev,
            [
                new ServicePortConfig("dns", L4Protocol.Udp, 53, 53, null),
                new ServicePortConfig("dns-tcp", L4Protocol.Tcp, 53, 53, null),
                new ServicePortConfig("metrics", L4Protocol.Tcp, 9153, 9153, null),
            ],
            [Endpoint("10.244.0.2", "cp-1"), Endpoint("10.244.0.3", "cp-1")]);
        Assert.Equal(expected, dns.Service);
        Assert.Same(ServiceExposure.ClusterIpOnly, dns.Service!.Exposure);
        Assert.Empty(dns.Warnings);
    }

    [Fact]
    public void Named_target_port_resolves_per_slice_and_disagreeing_slices_give_endpoints_their_own_ports()
    {
        // web-4xk9p (old pods) says http is 8080 for three endpoints, web-9zq2m (new pods) 8081 for two.
        ServiceTranslation web = ClusterService("shop/web");

        ServiceConfig service = Assert.IsType<ServiceConfig>(web.Service);
        Assert.Equal(new ServicePortConfig("http", L4Protocol.Tcp, 80, 8080, null), Assert.Single(service.Ports));
        EndpointConfig[] expected =
        [
            Endpoint("10.244.1.11", "worker-1"),
            Endpoint("10.244.1.12", "worker-1") with { TargetPorts = [8081] },
            Endpoint("10.244.2.13", "worker-2", terminating: true),
            Endpoint("10.244.2.14", "worker-2"),
            Endpoint("10.244.2.15", "worker-2", terminating: true) with { TargetPorts = [8081] },
        ];
        Assert.Equal(expected, service.Endpoints);
        Assert.Equal([8080, 8081, 8080, 8080, 8081], service.Endpoints.Select(e => (int)e.TargetPortFor(0, service.Ports[0])));
        Assert.Empty(web.Warnings);
    }

    [Fact]
    public void Slices_that_agree_on_a_named_port_set_the_ports_target_port_and_no_endpoint_carries_its_own()
    {
        ServiceTranslation web = ServiceTranslator.Translate(Parse<V1Service>(Web),
        [
            Slice("web-a", "IPv4", "[{ name: http, port: 8080, protocol: TCP }]", ("10.244.1.11", "")),
            Slice("web-b", "IPv4", "[{ name: http, port: 8080, protocol: TCP }]", ("10.244.2.14", "")),
        ]);

        ServiceConfig service = Assert.IsType<ServiceConfig>(web.Service);
        Assert.Equal(8080, Assert.Single(service.Ports).TargetPort);
        Assert.Equal(2, service.Endpoints.Count);
        Assert.All(service.Endpoints, e => Assert.Null(e.TargetPorts));
    }

    [Fact]
    public void Most_common_port_wins_and_a_tie_goes_to_the_lower_number()
    {
        ServiceConfig tie = Served(ServiceTranslator.Translate(Parse<V1Service>(Web),
        [
            Slice("web-a", "IPv4", "[{ name: http, port: 9000, protocol: TCP }]", ("10.244.1.11", "")),
            Slice("web-b", "IPv4", "[{ name: http, port: 8000, protocol: TCP }]", ("10.244.2.14", "")),
        ]));

        Assert.Equal(8000, tie.Ports[0].TargetPort);
        Assert.Equal([9000], tie.Endpoints.Single(e => e.Ip == IpAddress.Parse("10.244.1.11")).TargetPorts!);
        Assert.Null(tie.Endpoints.Single(e => e.Ip == IpAddress.Parse("10.244.2.14")).TargetPorts);
    }

    [Fact]
    public void Slice_that_defines_no_port_of_a_service_port_name_is_left_out_with_a_warning_naming_it()
    {
        // A named port that no slice defines: web-b has `http` but not `metrics`.
        V1Service service = Parse<V1Service>(Web.Replace("  type: ClusterIP", """
              - name: metrics
                port: 9100
                protocol: TCP
                targetPort: metrics
              type: ClusterIP
            """, StringComparison.Ordinal));
        Assert.Equal(2, service.Spec.Ports.Count);

        ServiceTranslation web = ServiceTranslator.Translate(service,
        [
            Slice("web-a", "IPv4", "[{ name: http, port: 8080, protocol: TCP }, { name: metrics, port: 9100, protocol: TCP }]", ("10.244.1.11", "")),
            Slice("web-b", "IPv4", "[{ name: http, port: 8080, protocol: TCP }]", ("10.244.2.14", ""), ("10.244.2.16", "")),
        ]);

        ServiceConfig served = Served(web);
        Assert.Equal(IpAddress.Parse("10.244.1.11"), Assert.Single(served.Endpoints).Ip);
        Assert.Equal([8080, 9100], served.Ports.Select(p => (int)p.TargetPort));
        ObjectWarning warning = Assert.Single(web.Warnings);
        Assert.Equal(
            "Service shop/web: EndpointSlice web-b defines no port named 'metrics' (TCP) of the service: its 2 endpoints are left out",
            warning.ToString());
    }

    [Fact]
    public void Slice_port_matches_by_protocol_as_well_as_name()
    {
        // A UDP `http` in the slice is not the service's TCP `http`.
        ServiceTranslation web = ServiceTranslator.Translate(Parse<V1Service>(Web),
            [Slice("web-a", "IPv4", "[{ name: http, port: 8080, protocol: UDP }]", ("10.244.1.11", ""))]);

        Assert.Empty(Served(web).Endpoints);
        Assert.Contains("defines no port named 'http' (TCP)", Assert.Single(web.Warnings).Problem, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{}", false)]                                                      // nil ready is ready
    [InlineData("{ ready: true, serving: true, terminating: false }", false)]
    [InlineData("{ serving: false }", false)]                                      // ready alone decides, and nil is ready
    [InlineData("{ ready: false, serving: true, terminating: true }", true)]       // draining: serving while terminating
    [InlineData("{ ready: false, serving: false, terminating: true }", true)]      // terminating and no longer serving
    [InlineData("{ ready: false, serving: false, terminating: false }", true)]     // starting, or failing its readiness probe
    [InlineData("{ ready: false }", true)]
    public void Endpoint_that_is_not_ready_takes_no_new_flows(string conditions, bool terminating)
    {
        V1EndpointSlice slice = Parse<V1EndpointSlice>($$"""
            apiVersion: discovery.k8s.io/v1
            kind: EndpointSlice
            metadata:
              name: web-a
              namespace: shop
              labels:
                kubernetes.io/service-name: web
            addressType: IPv4
            endpoints:
            - addresses: [10.244.1.11]
              conditions: {{conditions}}
              nodeName: worker-1
            ports:
            - { name: http, port: 8080, protocol: TCP }
            """);

        ServiceConfig web = Served(ServiceTranslator.Translate(Parse<V1Service>(Web), [slice]));

        Assert.Equal(Endpoint("10.244.1.11", "worker-1", terminating), Assert.Single(web.Endpoints));
    }

    [Theory]
    [InlineData("web-a", "web-b")]
    [InlineData("web-b", "web-a")]
    public void Address_in_two_slices_is_one_endpoint_from_the_ready_copy(string readySlice, string drainingSlice)
    {
        const string Ports = "[{ name: http, port: 8080, protocol: TCP }]";
        V1EndpointSlice ready = Slice(readySlice, "IPv4", Ports, ("10.244.1.11", "ready: true"), ("10.244.1.12", "ready: false"));
        V1EndpointSlice draining = Slice(drainingSlice, "IPv4", Ports, ("10.244.1.11", "ready: false, serving: true, terminating: true"), ("10.244.1.12", "ready: false"));

        ServiceConfig web = Served(ServiceTranslator.Translate(Parse<V1Service>(Web), [draining, ready]));

        Assert.Equal([Endpoint("10.244.1.11", null), Endpoint("10.244.1.12", null, terminating: true)], web.Endpoints);
    }

    [Fact]
    public void Only_the_first_address_of_an_endpoint_is_used()
    {
        V1EndpointSlice slice = Parse<V1EndpointSlice>("""
            apiVersion: discovery.k8s.io/v1
            kind: EndpointSlice
            metadata: { name: web-a, namespace: shop, labels: { kubernetes.io/service-name: web } }
            addressType: IPv4
            endpoints:
            - addresses: [10.244.1.11, 10.244.1.99]
            ports:
            - { name: http, port: 8080, protocol: TCP }
            """);

        ServiceConfig web = Served(ServiceTranslator.Translate(Parse<V1Service>(Web), [slice]));

        Assert.Equal(IpAddress.Parse("10.244.1.11"), Assert.Single(web.Endpoints).Ip);
    }

    [Fact]
    public void Fqdn_slice_is_left_out_with_a_warning()
    {
        V1EndpointSlice fqdn = Parse<V1EndpointSlice>("""
            apiVersion: discovery.k8s.io/v1
            kind: EndpointSlice
            metadata: { name: web-names, namespace: shop, labels: { kubernetes.io/service-name: web } }
            addressType: FQDN
            endpoints:
            - addresses: [web-0.example.com]
            ports:
            - { name: http, port: 8080, protocol: TCP }
            """);

        ServiceTranslation web = ServiceTranslator.Translate(Parse<V1Service>(Web), [fqdn, Slice("web-a", "IPv4", "[{ name: http, port: 8080, protocol: TCP }]", ("10.244.1.11", ""))]);

        Assert.Equal(IpAddress.Parse("10.244.1.11"), Assert.Single(Served(web).Endpoints).Ip);
        Assert.Equal(
            "Service shop/web: EndpointSlice web-names has addressType FQDN (names, not addresses), which kube-proxy does not proxy either: its endpoint is left out",
            Assert.Single(web.Warnings).ToString());
    }

    [Fact]
    public void Ipv6_slice_of_an_ipv4_only_service_is_left_out_with_a_warning()
    {
        // A slice with an address outside any family the service has a cluster IP for.
        ServiceTranslation web = ServiceTranslator.Translate(Parse<V1Service>(Web),
        [
            Slice("web-a", "IPv4", "[{ name: http, port: 8080, protocol: TCP }]", ("10.244.1.11", "")),
            Slice("web-v6", "IPv6", "[{ name: http, port: 8080, protocol: TCP }]", ("fd00:10:244:1::11", ""), ("fd00:10:244:2::14", "")),
        ]);

        Assert.Equal(IpAddress.Parse("10.244.1.11"), Assert.Single(Served(web).Endpoints).Ip);
        Assert.Equal(
            "Service shop/web: EndpointSlice web-v6 holds IPv6 addresses but the service has no IPv6 cluster IP: its 2 endpoints are left out",
            Assert.Single(web.Warnings).ToString());
    }

    [Fact]
    public void Endpoint_whose_address_does_not_parse_or_is_of_the_other_family_is_left_out_alone()
    {
        ServiceTranslation web = ServiceTranslator.Translate(Parse<V1Service>(Web),
        [
            Slice("web-a", "IPv4", "[{ name: http, port: 8080, protocol: TCP }]",
                ("10.244.1.11", ""), ("10.244.1.300", ""), ("fd00::5", ""), ("224.0.0.5", "")),
        ]);

        Assert.Equal(IpAddress.Parse("10.244.1.11"), Assert.Single(Served(web).Endpoints).Ip);
        Assert.Equal(
            "Service shop/web: EndpointSlice web-a: 3 endpoints without a IPv4 unicast address ('10.244.1.300', 'fd00::5', '224.0.0.5') left out",
            Assert.Single(web.Warnings).ToString());
    }

    [Fact]
    public void Dual_stack_service_takes_a_cluster_ip_and_a_slice_of_each_family()
    {
        ServiceTranslation api = ClusterService("shop/api");

        var expected = new ServiceConfig(
            "shop/api", Ip4Address.Parse("10.96.33.7"), Ip6Address.Parse("fd00:10:96::7"), SessionAffinity.None, 10800, Scheduler.Maglev,
            [new ServicePortConfig("grpc", L4Protocol.Tcp, 9090, 9090, null)],
            [Endpoint("10.244.2.20", "worker-2"), Endpoint("fd00:10:244:2::20", "worker-2")]);
        Assert.Equal(expected, api.Service);
        Assert.Empty(api.Warnings);
    }

    [Fact]
    public void Cluster_ips_keep_one_address_per_family_and_fall_back_to_cluster_ip()
    {
        ServiceConfig single = Served(ServiceTranslator.Translate(Parse<V1Service>(Web.Replace("""
              clusterIPs:
              - 10.96.120.15

            """, "", StringComparison.Ordinal)), []));
        Assert.Equal(Ip4Address.Parse("10.96.120.15"), single.ClusterIp);

        ServiceTranslation two = ServiceTranslator.Translate(Parse<V1Service>(Web.Replace("- 10.96.120.15", "- 10.96.120.15\n  - 10.96.120.16", StringComparison.Ordinal)), []);
        Assert.Equal(Ip4Address.Parse("10.96.120.15"), Served(two).ClusterIp);
        Assert.Null(two.Service!.ClusterIpV6);
        Assert.Contains("'10.96.120.16' is a second IPv4 cluster IP", Assert.Single(two.Warnings).Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Service_without_a_usable_cluster_ip_is_refused_with_a_warning()
    {
        ServiceTranslation bad = ServiceTranslator.Translate(Parse<V1Service>(Web.Replace("10.96.120.15", "10.96.300.15", StringComparison.Ordinal)), []);

        Assert.False(bad.IsServed);
        Assert.Null(bad.SkipReason);
        Assert.Equal(
            [
                "Service shop/web: clusterIPs: '10.96.300.15' is not a unicast IP address; left out",
                "Service shop/web: has no usable cluster IP (10.96.300.15): not served",
            ],
            bad.Warnings.Select(w => w.ToString()));
    }

    [Fact]
    public void Service_without_ports_is_refused_with_a_warning_naming_its_namespace_and_name()
    {
        ServiceTranslation empty = ServiceTranslator.Translate(Parse<V1Service>("""
            apiVersion: v1
            kind: Service
            metadata: { name: empty, namespace: shop }
            spec:
              clusterIP: 10.96.5.5
              selector: { app: empty }
            """), []);

        Assert.False(empty.IsServed);
        Assert.Equal("shop/empty", empty.Key);
        Assert.Equal("Service shop/empty: has no ports: not served (a Service needs at least one)", Assert.Single(empty.Warnings).ToString());
    }

    [Fact]
    public void Headless_external_name_and_other_proxies_services_are_skipped_with_a_reason_and_no_warning()
    {
        IReadOnlyList<ServiceTranslation> all = ServiceTranslator.TranslateAll(Cluster());
        ServiceTranslation headless = all.Single(t => t.Key == "shop/cart-db");
        ServiceTranslation alias = all.Single(t => t.Key == "shop/payments");
        ServiceTranslation other = ServiceTranslator.Translate(Parse<V1Service>(Web.Replace(
            "namespace: shop", "namespace: shop\n  labels:\n    service.kubernetes.io/service-proxy-name: cilium", StringComparison.Ordinal)), []);

        foreach ((ServiceTranslation skipped, string reason) in new[] { (headless, "headless"), (alias, "ExternalName"), (other, "cilium") })
        {
            Assert.False(skipped.IsServed);
            Assert.Contains(reason, skipped.SkipReason, StringComparison.Ordinal);
            Assert.Empty(skipped.Warnings);
        }
    }

    [Fact]
    public void Whole_cluster_translates_without_a_warning_in_key_order()
    {
        IReadOnlyList<ServiceTranslation> all = ServiceTranslator.TranslateAll(Cluster());

        Assert.Equal(
            ["default/kubernetes", "kube-system/kube-dns", "shop/api", "shop/cart-db", "shop/checkout", "shop/payments", "shop/storefront", "shop/web"],
            all.Select(t => t.Key));
        Assert.Equal(
            ["default/kubernetes", "kube-system/kube-dns", "shop/api", "shop/checkout", "shop/storefront", "shop/web"],
            all.Where(t => t.IsServed).Select(t => t.Key));
        Assert.Empty(all.SelectMany(t => t.Warnings));
        Assert.Equal(
            new ServiceConfig("default/kubernetes", Ip4Address.Parse("10.96.0.1"), null, SessionAffinity.None, 10800, Scheduler.Maglev,
                [new ServicePortConfig("https", L4Protocol.Tcp, 443, 6443, null)], [Endpoint("192.168.56.10", null)]),
            all[0].Service);
    }

    [Fact]
    public void Load_balancer_service_takes_node_ports_ingress_ip_policies_and_source_ranges()
    {
        ServiceTranslation storefront = ClusterService("shop/storefront");

        // The slice lists https before http: ports are matched by name, not position.
        var expected = new ServiceConfig(
            "shop/storefront", Ip4Address.Parse("10.96.150.2"), null, SessionAffinity.ClientIP, 1800, Scheduler.Maglev,
            [
                new ServicePortConfig("http", L4Protocol.Tcp, 80, 8080, 31080),
                new ServicePortConfig("https", L4Protocol.Tcp, 443, 8443, 31443),
            ],
            [Endpoint("10.244.1.40", "worker-1"), Endpoint("10.244.2.40", "worker-2")])
        {
            Exposure = new ServiceExposure(
                ServiceType.LoadBalancer, [], [IpAddress.Parse("192.168.56.240")], TrafficPolicy.Local, TrafficPolicy.Cluster, 32145,
                [IpPrefix.Parse("203.0.113.0/24"), IpPrefix.Parse("198.51.100.0/24")]),
        };
        Assert.Equal(expected, storefront.Service);
        Assert.Empty(storefront.Warnings);
    }

    [Fact]
    public void Node_port_service_serves_its_node_port()
    {
        ServiceConfig checkout = Served(ClusterService("shop/checkout"));

        Assert.Equal(new ServicePortConfig("http", L4Protocol.Tcp, 80, 8080, 30080), Assert.Single(checkout.Ports));
        Assert.Equal(
            new ServiceExposure(ServiceType.NodePort, [], [], TrafficPolicy.Cluster, TrafficPolicy.Cluster, null, []),
            checkout.Exposure);
    }

    [Fact]
    public void Cluster_ip_service_has_no_node_port_and_no_external_policy()
    {
        ServiceConfig web = Served(ServiceTranslator.Translate(Parse<V1Service>(Web.Replace(
            "targetPort: http", "targetPort: http\n    nodePort: 30999", StringComparison.Ordinal).Replace(
            "type: ClusterIP", "type: ClusterIP\n  externalTrafficPolicy: Local", StringComparison.Ordinal)), []));

        Assert.Null(web.Ports[0].NodePort);
        Assert.Same(ServiceExposure.ClusterIpOnly, web.Exposure);
    }

    [Fact]
    public void Unreadable_exposure_entries_are_dropped_one_by_one_with_a_warning()
    {
        ServiceTranslation lb = ServiceTranslator.Translate(Parse<V1Service>("""
            apiVersion: v1
            kind: Service
            metadata: { name: edge, namespace: shop }
            spec:
              clusterIP: 10.96.7.7
              externalIPs: [192.0.2.10, not-an-ip, "fd00::10", 192.0.2.10]
              externalTrafficPolicy: Local
              healthCheckNodePort: 32001
              loadBalancerSourceRanges: [" 10.0.0.7/8 ", 300.0.0.0/8]
              ports:
              - { name: http, port: 80, protocol: TCP, targetPort: 8080, nodePort: 31000 }
              type: LoadBalancer
            status:
              loadBalancer:
                ingress:
                - ip: 192.0.2.20
                - hostname: lb.example.com
                - ip: 192.0.2.21
                  ipMode: Proxy
                - ip: bogus
            """), []);

        ServiceExposure exposure = Served(lb).Exposure;
        Assert.Equal([IpAddress.Parse("192.0.2.10")], exposure.ExternalIps);
        Assert.Equal([IpAddress.Parse("192.0.2.20")], exposure.LoadBalancerIps);
        Assert.Equal([IpPrefix.Parse("10.0.0.0/8")], exposure.LoadBalancerSourceRanges);
        Assert.Equal((ushort)32001, exposure.HealthCheckNodePort);
        Assert.Equal(
            [
                "externalIPs: 'not-an-ip' is not a unicast IP address; left out",
                "externalIPs: 'fd00::10' is IPv6 but the service has no IPv6 cluster IP; left out",
                "status.loadBalancer.ingress: 'bogus' is not a unicast IP address; left out",
                "loadBalancerSourceRanges: '300.0.0.0/8' is not a CIDR; left out",
            ],
            lb.Warnings.Select(w => w.Problem));
    }

    [Fact]
    public void Load_balancer_ips_are_not_served_when_no_source_range_can_be_read()
    {
        ServiceTranslation lb = ServiceTranslator.Translate(Parse<V1Service>("""
            apiVersion: v1
            kind: Service
            metadata: { name: edge, namespace: shop }
            spec:
              clusterIP: 10.96.7.7
              loadBalancerSourceRanges: [10.0.0.0/33]
              ports:
              - { name: http, port: 80, protocol: TCP, targetPort: 8080, nodePort: 31000 }
              type: LoadBalancer
            status:
              loadBalancer:
                ingress:
                - ip: 192.0.2.20
            """), []);

        Assert.Empty(Served(lb).Exposure.LoadBalancerIps);
        Assert.Contains("not served rather than opened to every source", lb.Warnings[^1].Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Port_with_an_unknown_protocol_is_left_out_and_the_others_kept()
    {
        ServiceTranslation web = ServiceTranslator.Translate(Parse<V1Service>(Web.Replace("  type: ClusterIP", """
              - name: quic
                port: 443
                protocol: QUIC
                targetPort: 8443
              type: ClusterIP
            """, StringComparison.Ordinal)), []);

        Assert.Equal(["http"], Served(web).Ports.Select(p => p.Name));
        Assert.Equal("Service shop/web: port 'quic': protocol 'QUIC' is not TCP, UDP or SCTP; the port is left out", Assert.Single(web.Warnings).ToString());
    }

    [Fact]
    public void Without_slices_a_port_targets_its_numeric_target_port_or_itself()
    {
        ServiceConfig service = Served(ServiceTranslator.Translate(Parse<V1Service>("""
            apiVersion: v1
            kind: Service
            metadata: { name: new, namespace: shop }
            spec:
              clusterIP: 10.96.8.8
              ports:
              - { name: a, port: 80, protocol: TCP, targetPort: 8080 }
              - { name: b, port: 81, protocol: TCP, targetPort: http }
              - { name: c, port: 82, protocol: UDP }
            """), []));

        Assert.Equal([8080, 81, 82], service.Ports.Select(p => (int)p.TargetPort));
        Assert.Equal([L4Protocol.Tcp, L4Protocol.Tcp, L4Protocol.Udp], service.Ports.Select(p => p.Protocol));
        Assert.Empty(service.Endpoints);
    }

    [Fact]
    public void Placeholder_slice_without_endpoints_or_ports_says_nothing()
    {
        V1EndpointSlice placeholder = Parse<V1EndpointSlice>("""
            apiVersion: discovery.k8s.io/v1
            kind: EndpointSlice
            metadata: { name: web-empty, namespace: shop, labels: { kubernetes.io/service-name: web } }
            addressType: IPv4
            endpoints: null
            ports: null
            """);

        ServiceTranslation web = ServiceTranslator.Translate(Parse<V1Service>(Web), [placeholder]);

        Assert.Empty(Served(web).Endpoints);
        Assert.Empty(web.Warnings);
    }

    [Fact]
    public void Session_affinity_timeout_defaults_to_three_hours_and_refuses_what_the_api_would()
    {
        ServiceConfig sticky = Served(ServiceTranslator.Translate(Parse<V1Service>(Web.Replace(
            "type: ClusterIP", "type: ClusterIP\n  sessionAffinity: ClientIP", StringComparison.Ordinal)), []));
        Assert.Equal(SessionAffinity.ClientIP, sticky.SessionAffinity);
        Assert.Equal(10800, sticky.AffinityTimeoutSeconds);

        ServiceTranslation tooLong = ServiceTranslator.Translate(Parse<V1Service>(Web.Replace(
            "type: ClusterIP", "type: ClusterIP\n  sessionAffinity: ClientIP\n  sessionAffinityConfig: { clientIP: { timeoutSeconds: 90000 } }", StringComparison.Ordinal)), []);
        Assert.Equal(10800, Served(tooLong).AffinityTimeoutSeconds);
        Assert.Contains("timeoutSeconds 90000 is outside 1..86400", Assert.Single(tooLong.Warnings).Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Same_objects_in_any_order_give_an_equal_service()
    {
        ClusterObjects cluster = Cluster();
        V1Service web = cluster.Services.Single(s => s.Metadata.Name == "web");
        List<V1EndpointSlice> slices = [.. cluster.EndpointSlices.Where(s => ServiceTranslator.ServiceKeyOf(s) == "shop/web")];
        ServiceConfig first = Served(ServiceTranslator.Translate(web, slices));

        slices.Reverse();
        foreach (V1EndpointSlice slice in slices)
        {
            slice.Endpoints = [.. slice.Endpoints.Reverse()];
        }

        ServiceConfig second = Served(ServiceTranslator.Translate(web, slices));
        Assert.NotSame(first, second);
        Assert.Equal(first, second);
        Assert.Equal(first.GetHashCode(), second.GetHashCode());
    }

    [Fact]
    public void Service_the_table_would_refuse_is_refused_here_with_the_rule_as_warning()
    {
        ServiceTranslation twice = ServiceTranslator.Translate(Parse<V1Service>(Web.Replace("  type: ClusterIP", """
              - name: http-again
                port: 80
                protocol: TCP
                targetPort: 8080
              type: ClusterIP
            """, StringComparison.Ordinal)), []);

        Assert.False(twice.IsServed);
        Assert.Equal("Service shop/web: port 80/Tcp listed twice: not served", Assert.Single(twice.Warnings).ToString());
    }

    [Fact]
    public void More_endpoints_in_one_family_than_a_service_takes_is_refused()
    {
        var slices = new List<V1EndpointSlice>();
        int count = ServiceRules.MaxEndpointsPerFamily + 1;
        for (int start = 0; start < count; start += 1000)
        {
            slices.Add(new V1EndpointSlice
            {
                Metadata = new V1ObjectMeta { Name = $"web-{start / 1000}", NamespaceProperty = "shop", Labels = new Dictionary<string, string> { ["kubernetes.io/service-name"] = "web" } },
                AddressType = "IPv4",
                Ports = [new Discoveryv1EndpointPort { Name = "http", Port = 8080, Protocol = "TCP" }],
                Endpoints = [.. Enumerable.Range(start, Math.Min(1000, count - start)).Select(i => new V1Endpoint { Addresses = [$"10.{(i >> 16) + 1}.{(i >> 8) & 255}.{i & 255}"] })],
            });
        }

        ServiceTranslation web = ServiceTranslator.Translate(Parse<V1Service>(Web), slices);

        Assert.False(web.IsServed);
        Assert.Equal(
            $"{count} IPv4 endpoints; a service takes at most {ServiceRules.MaxEndpointsPerFamily} per family (a Maglev entry indexes them with 16 bits): not served",
            Assert.Single(web.Warnings).Problem);
    }

    [Fact]
    public void Slice_of_another_service_is_a_callers_mistake()
    {
        V1EndpointSlice api = Slice("api-a", "IPv4", "[{ name: grpc, port: 9090, protocol: TCP }]", ("10.244.1.11", ""));
        api.Metadata.Labels["kubernetes.io/service-name"] = "api";

        Assert.Throws<ArgumentException>(() => ServiceTranslator.Translate(Parse<V1Service>(Web), [api]));
    }

    private static ServiceTranslation ClusterService(string key)
        => ServiceTranslator.TranslateAll(Cluster()).Single(t => t.Key == key);

    private static ServiceConfig Served(ServiceTranslation translation)
        => translation.Service ?? throw new Xunit.Sdk.XunitException($"{translation.Key} not served: {translation.SkipReason}{string.Join("; ", translation.Warnings)}");

    private static EndpointConfig Endpoint(string ip, string? node, bool terminating = false)
        => new(IpAddress.Parse(ip), 1, terminating, node);

    /// <summary>An EndpointSlice of shop/web as the controller writes it; each endpoint is (address, conditions inside braces).</summary>
    private static V1EndpointSlice Slice(string name, string addressType, string ports, params (string Address, string Conditions)[] endpoints)
        => Parse<V1EndpointSlice>($$"""
            apiVersion: discovery.k8s.io/v1
            kind: EndpointSlice
            metadata:
              name: {{name}}
              namespace: shop
              labels:
                kubernetes.io/service-name: web
                endpointslice.kubernetes.io/managed-by: endpointslice-controller.k8s.io
            addressType: {{addressType}}
            endpoints:
            {{string.Join("\n", endpoints.Select(e => $"- {{ addresses: [\"{e.Address}\"], conditions: {{ {e.Conditions} }} }}"))}}
            ports: {{ports}}
            """);
}
