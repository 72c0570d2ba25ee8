using Dataplane.Tests.Infrastructure;

namespace Dataplane.Tests.Io.Os;

[Trait("Category", "unit")]
public class RootRequirementTests
{
    [Theory]
    [InlineData(true, null, false)]
    [InlineData(true, "true", false)]
    [InlineData(false, null, true)]
    [InlineData(false, "false", true)]
    [InlineData(false, "true", false)] // CI never skips: the test runs and fails loudly without root
    [InlineData(false, "TRUE", false)]
    public void Root_tests_skip_only_when_not_root_and_not_in_CI(bool isRoot, string? ci, bool skips)
    {
        string? reason = RootRequirement.SkipFor(isRoot, ci);

        Assert.Equal(skips, reason is not null);
        if (skips)
        {
            Assert.Equal("needs root (CAP_NET_ADMIN) to create namespaces and TAP devices", reason);
        }
    }
}
