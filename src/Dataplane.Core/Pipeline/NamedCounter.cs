using System.ComponentModel;
using System.Reflection;
using System.Text;

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
    {
        TEnum[] values = Enum.GetValues<TEnum>();
        var reasons = new NamedCounter[values.Length];
        for (int i = 0; i < values.Length; i++)
        {
            if (Convert.ToInt32(values[i], System.Globalization.CultureInfo.InvariantCulture) != i)
            {
                throw new InvalidOperationException($"{typeof(TEnum).Name} values must be 0..n-1 in order");
            }

            string name = values[i].ToString();
            string description = typeof(TEnum).GetField(name)!.GetCustomAttribute<DescriptionAttribute>()?.Description
                ?? throw new InvalidOperationException($"{typeof(TEnum).Name}.{name} needs a [Description]");
            reasons[i] = new NamedCounter(KebabCase(name), description);
        }

        return reasons;
    }

    private static string KebabCase(string pascal)
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
