using System.CommandLine;

namespace Dataplane.Cli.Commands;

/// <summary>
/// Bad arguments are bad input like a bad node.yaml: one line on stderr naming the command and the problem, exit
/// code 2, nothing started. System.CommandLine's own parse errors (an unknown option, a value that is not a number)
/// would print several lines with the whole help text and exit 1, so Program prints the first error alone instead.
/// </summary>
internal static class ParseErrors
{
    public const int ExitBadInput = 2;

    /// <summary>The exit code after printing the first error; null for a clean parse.</summary>
    public static int? Refuse(ParseResult parse, TextWriter error)
    {
        if (parse.Errors.Count == 0)
        {
            return null;
        }

        Command command = parse.CommandResult.Command;
        // `dataplane bogus` (or `ctl bogus`) fails first as "Required command was not provided"; the word typed is the clue.
        string message = command.Action is null && command.Subcommands.Count > 0 && parse.UnmatchedTokens.Count > 0
            ? $"unknown command '{parse.UnmatchedTokens[0]}' (commands: {string.Join(", ", command.Subcommands.Select(static c => c.Name))})"
            : parse.Errors[0].Message.ReplaceLineEndings(" ");
        error.WriteLine($"{CommandPath(command)}: {message}");
        return ExitBadInput;
    }

    /// <summary>"dataplane ctl trace", as the user typed it.</summary>
    private static string CommandPath(Command command)
    {
        var names = new List<string>();
        for (Command? c = command; c is not null; c = c.Parents.OfType<Command>().FirstOrDefault())
        {
            names.Add(c is RootCommand ? "dataplane" : c.Name);
        }

        names.Reverse();
        return string.Join(' ', names);
    }
}
