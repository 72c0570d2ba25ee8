using System.ComponentModel;
using System.Globalization;
using System.Reflection;

namespace Dataplane.Pipeline;

/// <summary>
/// A stage counter: a drop reason or an event (ARP replies sent, MACs learned). Kebab-case name for
/// machines, a sentence for humans (VPP's error strings).
/// </summary>
public sealed record NamedCounter(string Name, string Description)
{
    /// <summary>
    /// The counters of a stage's enum, in enum order, so <c>(int)value</c> indexes its counter.
    /// Each enum member carries a <see cref="DescriptionAttribute"/>.
    /// </summary>
    public static NamedCounter[] Of<TEnum>()
        where TEnum : struct, Enum
        => Of(typeof(TEnum));

    /// <inheritdoc cref="Of{TEnum}"/>
    public static NamedCounter[] Of(Type enumType)
    {
        string[] names = Members(enumType);
        var reasons = new NamedCounter[names.Length];
        for (int i = 0; i < names.Length; i++)
        {
            string description = enumType.GetField(names[i])!.GetCustomAttribute<DescriptionAttribute>()?.Description
                ?? throw new InvalidOperationException($"{enumType.Name}.{names[i]} needs a [Description]");
            reasons[i] = new NamedCounter(StageInfo.KebabCase(names[i]), description);
        }

        return reasons;
    }

    /// <summary>The member names of an enum whose values are 0..n-1 in order, so a value indexes its name.</summary>
    internal static string[] Members(Type enumType)
    {
        Array values = Enum.GetValuesAsUnderlyingType(enumType);
        string[] names = new string[values.Length];
        for (int i = 0; i < names.Length; i++)
        {
            object value = values.GetValue(i)!;
            if (Convert.ToInt32(value, CultureInfo.InvariantCulture) != i)
            {
                throw new InvalidOperationException($"{enumType.Name} values must be 0..n-1 in order");
            }

            names[i] = Enum.GetName(enumType, value)!;
        }

        return names;
    }
}
