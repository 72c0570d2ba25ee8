using Dataplane.Ingress.Routing;

namespace Dataplane.Tests.Ingress;

[Trait("Category", "unit")]
public class IngressHostsTests
{
    [Theory]
    [InlineData("foo.bar.com", "foo.bar.com", false, "foo.bar.com")]
    [InlineData("Foo.Bar.COM", "foo.bar.com", false, "foo.bar.com")]
    [InlineData("*.bar.com", "*.bar.com", true, "bar.com")]
    [InlineData("", "", false, "")]
    public void Rule_hosts_are_lowercased_and_wildcards_keyed_by_what_follows_the_star(string given, string host, bool wildcard, string key)
    {
        Assert.Equal(host, IngressHosts.Parse(given, out bool isWildcard, out string wildcardKey, out string? problem));
        Assert.Null(problem);
        Assert.Equal(wildcard, isWildcard);
        Assert.Equal(key, wildcardKey);
    }

    [Theory]
    [InlineData("10.0.0.1", "is an IP address")]
    [InlineData("foo.*.com", "is not a DNS name (a wildcard is '*.' followed by a name: one whole label)")]
    [InlineData("*foo.com", "is not a DNS name")]
    [InlineData("foo..com", "is not a DNS name")]
    [InlineData("-foo.com", "is not a DNS name")]
    [InlineData("foo.com:80", "is not a DNS name")]
    public void Hosts_that_are_not_dns_names_are_refused(string given, string reason)
    {
        Assert.Null(IngressHosts.Parse(given, out _, out _, out string? problem));
        Assert.Contains(reason, problem, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("baz.bar.com", "bar.com")]
    [InlineData("qux.baz.bar.com", "baz.bar.com")]
    [InlineData("com", null)]
    public void A_host_is_covered_by_the_wildcard_of_its_parent_only(string host, string? key)
    {
        Assert.Equal(key, IngressHosts.WildcardKeyOf(host));
    }

    [Theory]
    [InlineData("A.Example.COM", "a.example.com")]
    [InlineData("a.example.com.", "a.example.com")]
    public void Request_hosts_are_lowercased_without_a_trailing_dot(string given, string expected)
    {
        Assert.Equal(expected, IngressHosts.Normalize(given));
    }
}
