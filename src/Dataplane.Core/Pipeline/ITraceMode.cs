namespace Dataplane.Pipeline;

/// <summary>
/// Compile-time trace switch: stages are generic over it, so the JIT emits one body with tracing and one
/// without (VPP compiles its node functions twice for the same reason). With <see cref="TraceOff"/> every
/// trace call is a constant-false branch the JIT removes.
/// </summary>
public interface ITraceMode
{
    static abstract bool Enabled { get; }
}

public readonly struct TraceOn : ITraceMode
{
    public static bool Enabled => true;
}

public readonly struct TraceOff : ITraceMode
{
    public static bool Enabled => false;
}
