namespace Dataplane.Fuzz;

/// <summary>A target's own check failed (not an exception of the code under test): a bug afl reports as a crash.</summary>
public sealed class FuzzInvariantException(string message) : Exception(message);
