namespace Dataplane.Replay;

/// <summary>Frames to replay, in time order, each with the port it arrives on.</summary>
public interface IReplaySource
{
    /// <summary>The next frame; it stays valid until the next call. False at the end (or on a failure the source reports).</summary>
    bool TryRead(out ushort port, out long timestampNanoseconds, out ReadOnlySpan<byte> frame);
}
