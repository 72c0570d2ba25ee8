namespace Dataplane.Pipeline;

/// <summary>Port numbering: the uplink is port 0 when configured, pods follow in config order; these values are not ports.</summary>
public static class PortIds
{
    /// <summary>TxPort value meaning "every pod port except the one it came in on".</summary>
    public const ushort Flood = ushort.MaxValue;

    public const ushort None = ushort.MaxValue - 1;
}
