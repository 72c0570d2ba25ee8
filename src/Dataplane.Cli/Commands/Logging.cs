using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;

namespace Dataplane.Cli.Commands;

/// <summary>One line per event, with a UTC timestamp; never per packet.</summary>
internal static class Logging
{
    public static ILoggerFactory Create(LogLevel level) => LoggerFactory.Create(builder => builder
        .SetMinimumLevel(level)
        .AddSimpleConsole(options =>
        {
            options.SingleLine = true;
            options.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
            options.UseUtcTimestamp = true;
            options.ColorBehavior = LoggerColorBehavior.Disabled;
        }));
}
