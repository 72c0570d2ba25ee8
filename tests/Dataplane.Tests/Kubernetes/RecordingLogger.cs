using Microsoft.Extensions.Logging;

namespace Dataplane.Tests.Kubernetes;

/// <summary>A logger that keeps what it is given, so a test can check that a failure was logged, and at which level.</summary>
internal sealed class RecordingLogger : ILogger, ILoggerFactory
{
    private readonly Lock _lock = new();
    private readonly List<LogRecord> _records = [];

    public IReadOnlyList<LogRecord> Records
    {
        get
        {
            lock (_lock)
            {
                return [.. _records];
            }
        }
    }

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        lock (_lock)
        {
            _records.Add(new LogRecord(logLevel, formatter(state, exception), exception));
        }
    }

    public ILogger CreateLogger(string categoryName) => this;

    public void AddProvider(ILoggerProvider provider)
    {
    }

    public void Dispose()
    {
    }
}

internal sealed record LogRecord(LogLevel Level, string Message, Exception? Exception);
