using System.Diagnostics;

namespace Dataplane.Perf;

/// <summary>
/// Runs the programs a benchmark drives (ip, iptables, iperf3, go, dotnet, ...) as child processes. Ctrl-C or SIGTERM
/// (<see cref="StopSignals"/>) cancels <see cref="Stopping"/>: a running child is killed and the caller's finally blocks
/// tear everything down.
/// </summary>
internal static class Shell
{
    private static readonly CancellationTokenSource s_stopping = new();

    public static CancellationToken Stopping => s_stopping.Token;

    public static void Stop() => s_stopping.Cancel();

    /// <summary>Runs to completion and returns stdout; throws with the output's tail on a non-zero exit or after the timeout (30 s by default).</summary>
    public static string Run(IEnumerable<string> argv, TimeSpan? timeout = null) => Run(argv, timeout, Stopping);

    public static string Run(params string[] argv) => Run(argv, null, Stopping);

    /// <summary>As the others, but only <paramref name="stopping"/> cuts it short: <see cref="CancellationToken.None"/> for a teardown step whose failure is reported.</summary>
    public static string Run(IEnumerable<string> argv, TimeSpan? timeout, CancellationToken stopping) => Capture(argv, timeout, stopping, check: true).StdOut;

    /// <summary>Runs a command inside a network namespace (`ip netns exec` execs it, so nothing stays in between).</summary>
    public static string InNetns(string ns, params string[] argv) => Run(["ip", "netns", "exec", ns, .. argv]);

    /// <summary>Runs to completion and returns exit code and output without judging them.</summary>
    public static (int ExitCode, string StdOut, string StdErr) Capture(IEnumerable<string> argv, TimeSpan? timeout = null) =>
        Capture(argv, timeout, Stopping, check: false);

    /// <summary>For teardown: runs even after Ctrl-C, and never throws for a non-zero exit.</summary>
    public static (int ExitCode, string StdOut, string StdErr) Cleanup(params string[] argv) =>
        Capture(argv, null, CancellationToken.None, check: false);

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
    public static Background Start(params string[] argv) => Start(argv, Background.DefaultStopGrace);

    /// <summary>As <see cref="Start(string[])"/>, giving the program <paramref name="stopGrace"/> to exit after SIGTERM before it is killed.</summary>
    public static Background Start(string[] argv, TimeSpan stopGrace) => new(Launch(argv), Describe(argv), stopGrace);

    /// <summary>The command line as a shell would take it back: arguments with spaces or shell characters in single quotes.</summary>
    public static string Quote(IEnumerable<string> argv) => string.Join(' ', argv.Select(static arg =>
        arg.Length > 0 && arg.All(static c => char.IsAsciiLetterOrDigit(c) || "-_./:=,@%+".Contains(c)) ? arg : $"'{arg.Replace("'", "'\\''")}'"));

    public static string Tail(string text, int chars = 600)
    {
        text = text.Trim();
        return text.Length <= chars ? text : "..." + text[^chars..];
    }

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

    // "ip netns exec NS iperf3 -c ..." reads better as "iperf3 -c ... (in NS)".
    private static string Describe(string[] args) =>
        args is ["ip", "netns", "exec", var ns, .. var rest] ? $"{string.Join(' ', rest)} (in {ns})" : string.Join(' ', args);
}
