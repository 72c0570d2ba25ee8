namespace Dataplane;

/// <summary>
/// What one worker's stages are built from: the node's shared tables, and which of the workers sharing them
/// this graph is (conntrack expiry is split into one stripe per worker).
/// </summary>
public readonly record struct StageContext(NodeDataplane Node, int Worker = 0, int Workers = 1);
