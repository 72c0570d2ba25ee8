using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;

namespace Dataplane.Cli.Commands;

/// <summary>
/// An integer option limited to MIN..MAX, checked as the value is parsed. A validator would have to call GetValue,
/// which throws on a value that is not a number (`--batch-size abc` ended in an unhandled exception), so the parse
/// and the range check are one step and both end in a parse error.
/// </summary>
internal static class IntRange
{
    public static Option<int> Limit(this Option<int> option, int min, int max)
    {
        option.CustomParser = result =>
        {
            string text = result.Tokens.Count == 1 ? result.Tokens[0].Value : "";
            if (!int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int value) || value < min || value > max)
            {
                result.AddError($"{option.Name} '{text}': expected a whole number {min}..{max}");
                return 0;
            }

            return value;
        };
        return option;
    }
}
