namespace Dataplane.Pipeline;

/// <summary>
/// A stage that makes frames of its own rather than only receiving them (VPP's process and input nodes): the
/// graph asks it in <see cref="Graph.Poll"/>, once per worker loop, and it adds what is due with
/// <see cref="Graph.TryOriginate"/>. Its own <see cref="Node.Process{TTrace}"/> then sends those frames on.
/// </summary>
public interface IOriginatingNode
{
    void Poll(Graph graph, long now);
}
