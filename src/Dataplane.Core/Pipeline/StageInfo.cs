using System.Text;

namespace Dataplane.Pipeline;

/// <summary>
/// What a stage type declares about itself, read from the type alone (no instance): its name (the class name in
/// kebab case, <c>IcmpError</c> is "icmp-error"), its next stages (the members of its <c>Next</c> enum, named the
/// same way: <c>Next.IcmpError</c> sends to "icmp-error"), its drop reasons and its events. A stage's
/// <see cref="Node{TNext, TDrop, TEvent}"/> type arguments are the only place its edges are written down.
/// </summary>
public sealed class StageInfo
{
    private StageInfo(Type type, Type nextType, Type dropType, Type eventType)
    {
        foreach (Type e in (ReadOnlySpan<Type>)[nextType, dropType, eventType])
        {
            // Node<,,> turns the enums into indexes with Unsafe.As<TEnum, int>.
            if (Enum.GetUnderlyingType(e) != typeof(int))
            {
                throw new ArgumentException($"{type.Name}: {e.Name} must be an int enum", nameof(type));
            }
        }

        Type = type;
        Name = KebabCase(type.Name);
        NextType = nextType;
        Next = Array.ConvertAll(NamedCounter.Members(nextType), KebabCase);
        DropReasons = NamedCounter.Of(dropType);
        Events = NamedCounter.Of(eventType);
    }

    public Type Type { get; }

    public string Name { get; }

    /// <summary>The stage's <c>Next</c> enum; <c>(int)member</c> indexes <see cref="Next"/>.</summary>
    public Type NextType { get; }

    /// <summary>Names of the stages this one may send to, in <see cref="NextType"/> order.</summary>
    public IReadOnlyList<string> Next { get; }

    public IReadOnlyList<NamedCounter> DropReasons { get; }

    public IReadOnlyList<NamedCounter> Events { get; }

    /// <summary>The declaration of <paramref name="stageType"/>, a concrete subclass of <see cref="Node{TNext, TDrop, TEvent}"/>.</summary>
    public static StageInfo Of(Type stageType)
    {
        for (Type? t = stageType; t is not null; t = t.BaseType)
        {
            if (t.IsGenericType && t.GetGenericTypeDefinition() == typeof(Node<,,>))
            {
                Type[] args = t.GetGenericArguments();
                return new StageInfo(stageType, args[0], args[1], args[2]);
            }
        }

        throw new ArgumentException($"{stageType.Name} is not a Node<TNext, TDrop, TEvent>", nameof(stageType));
    }

    public override string ToString() => Name;

    /// <summary><c>IcmpError</c> is "icmp-error", <c>Ip4Lookup</c> "ip4-lookup", <c>TableFull</c> "table-full".</summary>
    internal static string KebabCase(string pascal)
    {
        var builder = new StringBuilder(pascal.Length + 4);
        for (int i = 0; i < pascal.Length; i++)
        {
            char c = pascal[i];
            if (char.IsUpper(c) && i > 0 && (char.IsLower(pascal[i - 1]) || (i + 1 < pascal.Length && char.IsLower(pascal[i + 1]))))
            {
                builder.Append('-');
            }

            builder.Append(char.ToLowerInvariant(c));
        }

        return builder.ToString();
    }
}
