using System.Reflection;

namespace Dataplane.Tests.Infrastructure;

/// <summary>
/// Every test class says which part of the suite it belongs to, so <c>dotnet test --filter Category=unit</c> runs
/// the fast part alone: <c>unit</c> (in memory, seconds), <c>replay</c> (pcap files through the replay engine),
/// <c>e2e</c> (needs root: namespaces, TAPs, the daemon), <c>slow</c> (million-entry tables, randomized and
/// concurrency stress runs).
/// </summary>
[Trait("Category", "unit")]
public class TestCategoryTests
{
    private static readonly string[] Categories = ["unit", "replay", "e2e", "slow"];

    [Fact]
    public void Every_test_class_has_exactly_one_known_category()
    {
        var wrong = new List<string>();
        foreach (Type type in typeof(TestCategoryTests).Assembly.GetTypes())
        {
            bool hasTests = type.GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static)
                .Any(static m => m.GetCustomAttributes<FactAttribute>(inherit: true).Any());
            if (!hasTests)
            {
                continue;
            }

            string[] categories = [.. type.GetCustomAttributesData()
                .Where(static a => a.AttributeType == typeof(TraitAttribute) && (string?)a.ConstructorArguments[0].Value == "Category")
                .Select(static a => (string)a.ConstructorArguments[1].Value!)];
            if (categories.Length != 1 || !Categories.Contains(categories[0]))
            {
                wrong.Add($"{type.FullName}: [{string.Join(", ", categories)}]");
            }
        }

        Assert.True(wrong.Count == 0,
            $"test classes need exactly one [Trait(\"Category\", ...)] of {string.Join(", ", Categories)}:\n{string.Join('\n', wrong)}");
    }
}
