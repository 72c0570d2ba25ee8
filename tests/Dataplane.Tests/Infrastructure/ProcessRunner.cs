using System.Diagnostics;
using System.Text;

namespace Dataplane.Tests.Infrastructure;

public sealed record ProcessResult(string Command, int ExitCode, string StdOut, string StdErr)
{
    public ProcessResult EnsureSuccess()
    {
        if (ExitCode != 0)
        {
            throw new InvalidOperationException($"`{Command}` exited with {ExitCode}: {StdErr.Trim()} {StdOut.Trim()}");
        }

        return this;
    }
}

/// <summary>Runs a command with a deadline, capturing its output; kills it (and its children) at the deadline.</summary>
public static class ProcessRunner
{
    public static ProcessResult Run(TimeSpan timeout, string fileName, params string[] arguments) =>
        RunAsync(timeout, fileName, arguments).GetAwaiter().GetResult();

    public static async Task<ProcessResult> RunAsync(TimeSpan timeout, string fileName, params string[] arguments)
    {
        string command = fileName + " " + string.Join(' ', arguments);
        var info = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        using var process = new Process { StartInfo = info };
        var stdout = new StringBuilder();
        var stderr = new StringBuilder();
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (stdout)
                {
                    stdout.AppendLine(e.Data);
                }
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (stderr)
                {
                    stderr.AppendLine(e.Data);
                }
            }
        };

        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var deadline = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"`{command}` did not finish within {timeout.TotalSeconds:0.#} s; killed. stdout: {stdout} stderr: {stderr}");
        }

        process.WaitForExit(); // flushes the asynchronous output readers
        lock (stdout)
        {
            lock (stderr)
            {
                return new ProcessResult(command, process.ExitCode, stdout.ToString(), stderr.ToString());
            }
        }
    }
}
