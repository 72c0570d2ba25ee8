namespace Dataplane.Tables;

/// <summary>
/// Open connections of one backend of one service port. A separate object so that successive snapshots of the port
/// share it for as long as the backend stays: a flow counted under one snapshot is released correctly under a later
/// one, and leastconn never sees counts reset by an unrelated endpoint change.
/// </summary>
internal sealed class ConnectionCount
{
    public int Open;
}
