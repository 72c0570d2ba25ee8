using System.Collections;
using System.Text;
using Dataplane.Cni;

// The executable a container runtime runs: the environment and stdin in, a result or error object on stdout.
var variables = new Dictionary<string, string>(StringComparer.Ordinal);
foreach (DictionaryEntry entry in Environment.GetEnvironmentVariables())
{
    variables[(string)entry.Key] = (string?)entry.Value ?? "";
}

var utf8 = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false);
using var stdout = new StreamWriter(Console.OpenStandardOutput(), utf8);
using var stderr = new StreamWriter(Console.OpenStandardError(), utf8) { AutoFlush = true };

// VERSION may be run from a terminal with nothing on stdin; reading it would wait for the user.
using TextReader stdin = Console.IsInputRedirected ? new StreamReader(Console.OpenStandardInput(), utf8) : TextReader.Null;
return new CniPlugin().Run(variables, stdin, stdout, stderr);
