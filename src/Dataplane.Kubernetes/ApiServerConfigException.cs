namespace Dataplane.Kubernetes;

/// <summary>No API server connection could be configured; the message is one line saying what to fix, fit to print as is.</summary>
public sealed class ApiServerConfigException(string message, Exception? inner = null) : Exception(message, inner);
