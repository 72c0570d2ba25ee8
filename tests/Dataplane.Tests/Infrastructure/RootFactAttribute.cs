namespace Dataplane.Tests.Infrastructure;

/// <summary>A [Fact] that needs root; see <see cref="RootRequirement"/> for when it skips.</summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false)]
public sealed class RootFactAttribute : FactAttribute
{
    public RootFactAttribute()
    {
        if (RootRequirement.Skip is { } reason)
        {
            Skip = reason;
        }
    }
}
