namespace Dataplane.Daemon;

/// <summary>The daemon could not start; the message says what to fix. Nothing it made is left behind.</summary>
public sealed class DaemonStartException(string message, Exception? inner = null) : Exception(message, inner);
