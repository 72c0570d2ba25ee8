using Dataplane.Ingress.Routing;

namespace Dataplane.Tests.Ingress;

/// <summary>Path matching, case by case from the Ingress spec's table (https://kubernetes.io/docs/concepts/services-networking/ingress/#examples).</summary>
[Trait("Category", "unit")]
public class IngressPathTests
{
    [Theory]
    // Prefix "/" matches everything.
    [InlineData("Prefix", "/", "/", true)]
    [InlineData("Prefix", "/", "/anything/at/all", true)]
    // Exact: the whole path, case-sensitively, trailing slash included.
    [InlineData("Exact", "/foo", "/foo", true)]
    [InlineData("Exact", "/foo", "/bar", false)]
    [InlineData("Exact", "/foo", "/foo/", false)]
    [InlineData("Exact", "/foo/", "/foo", false)]
    [InlineData("Exact", "/foo", "/FOO", false)]
    // Prefix: element-wise; the rule's trailing slash is ignored.
    [InlineData("Prefix", "/foo", "/foo", true)]
    [InlineData("Prefix", "/foo", "/foo/", true)]
    [InlineData("Prefix", "/foo", "/foo/bar", true)]
    [InlineData("Prefix", "/foo", "/foobar", false)]
    [InlineData("Prefix", "/foo/", "/foo", true)]
    [InlineData("Prefix", "/foo/", "/foo/bar", true)]
    [InlineData("Prefix", "/aaa/bb", "/aaa/bbb", false)]
    [InlineData("Prefix", "/aaa/bbb", "/aaa/bbb", true)]
    [InlineData("Prefix", "/aaa/bbb/", "/aaa/bbb", true)]
    [InlineData("Prefix", "/aaa/bbb", "/aaa/bbb/", true)]
    [InlineData("Prefix", "/aaa/bbb", "/aaa/bbb/ccc", true)]
    [InlineData("Prefix", "/aaa/bbb", "/aaa/bbbxyz", false)]
    [InlineData("Prefix", "/aaa", "/ccc", false)]
    [InlineData("Prefix", "/Foo", "/foo", false)]
    // ImplementationSpecific is matched as Prefix here, element-wise too.
    [InlineData("ImplementationSpecific", "/foo", "/foo/bar", true)]
    [InlineData("ImplementationSpecific", "/foo", "/foobar", false)]
    public void Request_path_matches_as_the_spec_says(string pathType, string rule, string request, bool matches)
    {
        IngressPath path = IngressPath.Create(rule, Enum.Parse<IngressPathType>(pathType), out string? problem)!;

        Assert.Null(problem);
        Assert.Equal(matches, path.Matches(request));
    }

    [Fact]
    public void A_prefix_with_trailing_slash_is_the_same_rule_as_without_and_ties_an_exact_path_of_that_length()
    {
        IngressPath withSlash = IngressPath.Create("/foo/", IngressPathType.Prefix, out _)!;
        IngressPath without = IngressPath.Create("/foo", IngressPathType.Prefix, out _)!;
        IngressPath exact = IngressPath.Create("/foo", IngressPathType.Exact, out _)!;

        Assert.Equal(without.MatchKey, withSlash.MatchKey);
        Assert.NotEqual(without.MatchKey, exact.MatchKey);
        Assert.Equal(exact.Length, withSlash.Length);
    }

    [Theory]
    [InlineData("foo", "Prefix", "path 'foo' does not start with '/'")]
    [InlineData("", "Exact", "pathType Exact needs a path")]
    public void A_relative_or_missing_path_is_refused_with_a_reason(string rule, string pathType, string expected)
    {
        Assert.Null(IngressPath.Create(rule, Enum.Parse<IngressPathType>(pathType), out string? problem));
        Assert.Equal(expected, problem);
    }

    [Fact]
    public void An_empty_prefix_path_is_the_root()
    {
        IngressPath path = IngressPath.Create(null, IngressPathType.ImplementationSpecific, out _)!;

        Assert.Equal("/", path.Path);
        Assert.True(path.Matches("/x"));
    }
}
