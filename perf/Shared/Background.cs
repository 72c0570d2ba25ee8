using System.Diagnostics;
using System.Text;

namespace Dataplane.Perf;

/// <summary>A child process that runs until stopped; <see cref="Dispose"/> sends SIGTERM and waits, then kills.</summary>
internal sealed class Background : IDisposable
{
    public static readonly TimeSpan DefaultStopGrace = TimeSpan.FromSeconds(10);

    private const int SIGINT = 2;
    private const int SIGTERM = 15;
    private readonly Process _process;
    private readonly TimeSpan _stopGrace;
    private readonly StringBuilder _output = new();

    public Background(Process process, string description, TimeSpan stopGrace)
    {
        _process = process;
        _stopGrace = stopGrace;
        Description = description;
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public string Description { get; }

    public bool HasExited => _process.HasExited;

    /// <summary>The process id: the program itself when it was started through exec chains (`ip netns exec`, `taskset`, `env`).</summary>
    public int Id => _process.Id;

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

            // A short pause between checks (each may spawn `ip`); the deadline, not this, bounds the wait.
            Shell.Stopping.WaitHandle.WaitOne(100);
            Shell.Stopping.ThrowIfCancellationRequested();
        }
    }

    /// <summary>trafgen stops its TX ring cleanly on SIGINT; everything else here on SIGTERM.</summary>
    public void Interrupt() => Signal(SIGINT);

    public void Dispose()
    {
        Signal(SIGTERM);
        if (!_process.WaitForExit(_stopGrace))
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
