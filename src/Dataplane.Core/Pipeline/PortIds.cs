namespace Dataplane.Pipeline;

/// <summary>Port numbering: the uplink is port 0 when present, pods follow in config order.</summary>
public static class PortIds
{
    public const ushort Uplink = 0;

    /// <summary>TxPort value meaning "every pod port except the one it came in on".</summary>
    public const ushort Flood = ushort.MaxValue;

    public const ushort None = ushort.MaxValue - 1;
}
