namespace Dataplane.Tests.Infrastructure;

/// <summary>A [Theory] that needs root; see <see cref="RootRequirement"/> for when it skips.</summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false)]
public sealed class RootTheoryAttribute : TheoryAttribute
{
    public RootTheoryAttribute()
    {
        if (RootRequirement.Skip is { } reason)
        {
            Skip = reason;
        }
    }
}
