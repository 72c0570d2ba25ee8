using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;

namespace Dataplane.CniLatency;

/// <summary>
/// Runs the programs the benchmark drives (ip, go, dotnet, the driver) as child processes. Ctrl-C or SIGTERM cancels
/// <see cref="Stopping"/>: a running child is killed and the caller's finally blocks tear everything down.
/// </summary>
internal static class Shell
{
    private static readonly CancellationTokenSource s_stopping = new();

    public static CancellationToken Stopping => s_stopping.Token;

    public static void Stop() => s_stopping.Cancel();

    /// <summary>Runs to completion; throws with the output's tail on a non-zero exit or after the timeout (30 s by default).</summary>
    public static string Run(IEnumerable<string> argv, TimeSpan? timeout = null) => Capture(argv, timeout, Stopping, check: true).StdOut;

    public static string Run(params string[] argv) => Run(argv, null);

    /// <summary>Runs to completion and returns exit code and output without judging them.</summary>
    public static (int ExitCode, string StdOut, string StdErr) Capture(IEnumerable<string> argv, TimeSpan? timeout = null) =>
        Capture(argv, timeout, Stopping, check: false);

    /// <summary>For teardown: runs even after Ctrl-C, and never throws for a non-zero exit.</summary>
    public static (int ExitCode, string StdOut, string StdErr) Cleanup(params string[] argv) =>
        Capture(argv, null, CancellationToken.None, check: false);

    public static string Tail(string text, int chars = 600)
    {
        text = text.Trim();
        return text.Length <= chars ? text : "..." + text[^chars..];
    }

    /// <summary>Starts a long-running program (the daemon) whose output is kept for errors.</summary>
    public static Background Start(params string[] argv) => new(Launch(argv), Describe(argv));

    private static (int ExitCode, string StdOut, string StdErr) Capture(IEnumerable<string> argv, TimeSpan? timeout, CancellationToken stopping, bool check)
    {
        string[] args = [.. argv];
        using Process process = Launch(args);
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        TimeSpan limit = timeout ?? TimeSpan.FromSeconds(30);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        deadline.CancelAfter(limit);
        try
        {
            process.WaitForExitAsync(deadline.Token).GetAwaiter().GetResult();
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            stopping.ThrowIfCancellationRequested();
            throw new InvalidOperationException($"{Describe(args)}: no answer after {limit}");
        }

        if (check && process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{Describe(args)} exited {process.ExitCode}: {Tail(stderr.Result + stdout.Result)}");
        }

        return (process.ExitCode, stdout.Result, stderr.Result);
    }

    private static Process Launch(string[] args)
    {
        var info = new ProcessStartInfo(args[0])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (string arg in args.Skip(1))
        {
            info.ArgumentList.Add(arg);
        }

        return Process.Start(info) ?? throw new InvalidOperationException($"could not start {args[0]}");
    }

    private static string Describe(string[] args) =>
        args is ["ip", "netns", "exec", var ns, .. var rest] ? $"{string.Join(' ', rest)} (in {ns})" : string.Join(' ', args);
}

/// <summary>A child process that runs until stopped; <see cref="Dispose"/> sends SIGTERM and waits, then kills.</summary>
internal sealed class Background(Process process, string description) : IDisposable
{
    private const int SIGTERM = 15;
    private readonly StringBuilder _output = Collect(process);

    public string Description { get; } = description;

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>Polls <paramref name="condition"/> while this program runs; throws with its output if it exits or the time runs out.</summary>
    public void WaitUntil(Func<bool> condition, TimeSpan timeout, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"{Description} exited {process.ExitCode} while waiting for {what}: {Shell.Tail(Output)}");
            }

            if (clock.Elapsed > timeout)
            {
                throw new InvalidOperationException($"no {what} after {timeout.TotalSeconds:0} s: {Shell.Tail(Output)}");
            }

            // A short pause between checks (each may spawn `ip`); the deadline, not this, bounds the wait.
            Shell.Stopping.WaitHandle.WaitOne(100);
            Shell.Stopping.ThrowIfCancellationRequested();
        }
    }

    public void Dispose()
    {
        if (!process.HasExited)
        {
            Interop.kill(process.Id, SIGTERM);
        }

        if (!process.WaitForExit(TimeSpan.FromSeconds(15)))
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
        }

        process.Dispose();
    }

    private static StringBuilder Collect(Process process)
    {
        var output = new StringBuilder();
        DataReceivedEventHandler append = (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (output)
                {
                    output.AppendLine(e.Data);
                }
            }
        };
        process.OutputDataReceived += append;
        process.ErrorDataReceived += append;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return output;
    }
}

internal static partial class Interop
{
    [LibraryImport("libc", SetLastError = true)]
    internal static partial int kill(int pid, int sig);
}
