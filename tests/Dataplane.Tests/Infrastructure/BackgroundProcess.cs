using System.Diagnostics;
using System.Text;

namespace Dataplane.Tests.Infrastructure;

/// <summary>
/// A long-running child (prometheus, `ctl flows --follow`, `ctl stats --watch`) whose output is collected as it
/// comes. Dispose kills it (and its children) if it is still running, so a failed test leaves nothing behind.
/// </summary>
public sealed class BackgroundProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();

    public BackgroundProcess(string fileName, params string[] arguments)
    {
        var info = new ProcessStartInfo(fileName) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
        foreach (string argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        _process = new Process { StartInfo = info };
        _process.OutputDataReceived += (_, e) => Append(_stdout, e.Data);
        _process.ErrorDataReceived += (_, e) => Append(_stderr, e.Data);
        _process.Start();
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        Command = $"{fileName} {string.Join(' ', arguments)}";
    }

    public string Command { get; }

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    public StreamWriter StandardInput => _process.StandardInput;

    public string StdOut => Read(_stdout);

    public string StdErr => Read(_stderr);

    /// <summary>Waits for the exit; kills it and throws at the deadline.</summary>
    public int WaitForExit(TimeSpan timeout)
    {
        if (!_process.WaitForExit(timeout))
        {
            _process.Kill(entireProcessTree: true);
            throw new TimeoutException($"`{Command}` did not exit within {timeout.TotalSeconds} s; output: {StdOut} {StdErr}");
        }

        _process.WaitForExit(); // flushes the output readers
        return _process.ExitCode;
    }

    /// <summary>Sends SIGINT (Ctrl-C) with kill(1).</summary>
    public void Interrupt() => ProcessRunner.Run(TimeSpan.FromSeconds(10), "kill", "-INT", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)).EnsureSuccess();

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(10_000);
            }
        }
        finally
        {
            _process.Dispose();
        }
    }

    private static void Append(StringBuilder builder, string? line)
    {
        if (line is not null)
        {
            lock (builder)
            {
                builder.AppendLine(line);
            }
        }
    }

    private static string Read(StringBuilder builder)
    {
        lock (builder)
        {
            return builder.ToString();
        }
    }
}
