using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;

namespace Dataplane.SideBySide;

/// <summary>
/// Runs the programs the benchmark drives (ip, iptables, iperf3, sockperf, trafgen, ...) as child processes.
/// Ctrl-C or SIGTERM cancels <see cref="Stopping"/>: a running child is killed and the caller's finally blocks
/// tear everything down.
/// </summary>
internal static class Shell
{
    private static readonly CancellationTokenSource s_stopping = new();

    public static CancellationToken Stopping => s_stopping.Token;

    public static void Stop() => s_stopping.Cancel();

    /// <summary>Runs to completion and returns stdout; throws with the output's tail on a non-zero exit or after <paramref name="timeout"/>.</summary>
    public static string Run(IEnumerable<string> argv, TimeSpan? timeout = null) => Run(argv, timeout, Stopping);

    public static string Run(params string[] argv) => Run(argv, null, Stopping);

    /// <summary>Runs a command inside a network namespace (`ip netns exec` execs it, so nothing stays in between).</summary>
    public static string InNetns(string ns, params string[] argv) => Run(["ip", "netns", "exec", ns, .. argv]);

    /// <summary>For teardown: runs even after Ctrl-C.</summary>
    public static string Cleanup(params string[] argv) => Run(argv, null, CancellationToken.None);

    private static string Run(IEnumerable<string> argv, TimeSpan? timeout, CancellationToken stopping)
    {
        using Process process = Launch(argv);
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        deadline.CancelAfter(timeout ?? TimeSpan.FromSeconds(30));
        try
        {
            process.WaitForExitAsync(deadline.Token).GetAwaiter().GetResult();
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            stopping.ThrowIfCancellationRequested();
            throw new InvalidOperationException($"{Describe(argv)}: no answer after {timeout ?? TimeSpan.FromSeconds(30)}");
        }

        string output = stdout.Result;
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{Describe(argv)} exited {process.ExitCode}: {Tail(stderr.Result + output)}");
        }

        return output;
    }

    public static bool Succeeds(params string[] argv)
    {
        try
        {
            Run(argv);
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    /// <summary>Starts a long-running program (a server, a daemon, a blaster) whose output is kept for errors.</summary>
    public static Background Start(params string[] argv) => new(Launch(argv), Describe(argv));

    public static string Tail(string text, int chars = 600)
    {
        text = text.Trim();
        return text.Length <= chars ? text : "..." + text[^chars..];
    }

    private static Process Launch(IEnumerable<string> argv)
    {
        string[] args = [.. argv];
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

    private static string Describe(IEnumerable<string> argv)
    {
        string[] args = [.. argv];
        // "ip netns exec NS iperf3 -c ..." reads better as "iperf3 -c ... (in NS)".
        return args is ["ip", "netns", "exec", var ns, .. var rest] ? $"{string.Join(' ', rest)} (in {ns})" : string.Join(' ', args);
    }
}

/// <summary>A child process that runs until stopped; <see cref="Dispose"/> sends SIGTERM and waits, then kills.</summary>
internal sealed class Background : IDisposable
{
    private const int SIGINT = 2;
    private const int SIGTERM = 15;
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    public Background(Process process, string description)
    {
        _process = process;
        Description = description;
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public string Description { get; }

    public bool HasExited => _process.HasExited;

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

    /// <summary>Waits until the output holds <paramref name="text"/>; throws if the program exits or the time runs out first.</summary>
    public void WaitForOutput(string text, TimeSpan timeout) =>
        WaitUntil(() => Output.Contains(text, StringComparison.Ordinal), timeout, $"'{text}' from {Description}");

    /// <summary>Polls <paramref name="condition"/> while this program runs; throws with its output if it exits or the time runs out.</summary>
    public void WaitUntil(Func<bool> condition, TimeSpan timeout, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"{Description} exited {_process.ExitCode} while waiting for {what}: {Shell.Tail(Output)}");
            }

            if (clock.Elapsed > timeout)
            {
                throw new InvalidOperationException($"no {what} after {timeout.TotalSeconds:0} s: {Shell.Tail(Output)}");
            }

            Shell.Stopping.WaitHandle.WaitOne(100);
            Shell.Stopping.ThrowIfCancellationRequested();
        }
    }

    /// <summary>trafgen stops its TX ring cleanly on SIGINT; everything else here on SIGTERM.</summary>
    public void Interrupt() => Signal(SIGINT);

    public void Dispose()
    {
        Signal(SIGTERM);
        if (!_process.WaitForExit(TimeSpan.FromSeconds(10)))
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
        }

        _process.Dispose();
    }

    private void Signal(int signal)
    {
        if (!_process.HasExited)
        {
            Interop.kill(_process.Id, signal);
        }
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
        }
    }
}

internal static partial class Interop
{
    [LibraryImport("libc", SetLastError = true)]
    internal static partial int kill(int pid, int sig);
}
