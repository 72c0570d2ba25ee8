using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;

namespace Dataplane.Cli.Commands;

/// <summary>`--log-format` of `dataplane run`.</summary>
internal enum LogFormat
{
    /// <summary>One line per event with a UTC timestamp.</summary>
    Text,

    /// <summary>One JSON object per line (the BCL's JSON console formatter), for log shippers.</summary>
    Json,
}

/// <summary>One line per event, with a UTC timestamp; never per packet.</summary>
internal static class Logging
{
    private const string TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";

    /// <param name="standardError">Every line to stderr (replay: stdout carries its report).</param>
    public static ILoggerFactory Create(LogLevel level, LogFormat format = LogFormat.Text, bool standardError = false) => LoggerFactory.Create(builder =>
    {
        builder.SetMinimumLevel(level);
        if (standardError)
        {
            builder.AddConsole(static o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        }

        // Kestrel's per-request and lifetime lines are not events of the dataplane; its warnings and errors are.
        builder.AddFilter("Microsoft", level > LogLevel.Warning ? level : LogLevel.Warning);
        // Nor YARP's (the ingress controller's proxy), which logs every forwarded request at Information.
        builder.AddFilter("Yarp", level > LogLevel.Warning ? level : LogLevel.Warning);
        // The host logs a failed start (e.g. the metrics address in use) with its stack trace; the daemon reports
        // the same failure itself in one line ("metrics: cannot listen on ..."), so the host's copy is dropped.
        builder.AddFilter("Microsoft.Extensions.Hosting", LogLevel.None);
        if (format == LogFormat.Json)
        {
            builder.AddJsonConsole(options =>
            {
                options.TimestampFormat = TimestampFormat.TrimEnd();
                options.UseUtcTimestamp = true;
                options.JsonWriterOptions = new System.Text.Json.JsonWriterOptions { Indented = false };
            });
            return;
        }

        builder.AddSimpleConsole(options =>
        {
            options.SingleLine = true;
            options.TimestampFormat = TimestampFormat;
            options.UseUtcTimestamp = true;
            options.ColorBehavior = LoggerColorBehavior.Disabled;
        });
    });
}
