using Dataplane.Conntrack;
using Dataplane.Daemon.State;
using Dataplane.Packets;
using Dataplane.Tests.Conntrack;

namespace Dataplane.Tests.Daemon;

/// <summary>
/// Conntrack's mapped file: a second mapping (a restarted daemon) sees the first one's flows; a file of another shape,
/// a corrupt header or a truncated body is discarded with the reason and replaced, never half-used.
/// </summary>
[Trait("Category", "unit")]
public sealed class ConntrackFileTests : IDisposable
{
    private const long T = 1_000_000_000_000;
    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("dpt-conntrack-");

    public void Dispose() => _directory.Delete(recursive: true);

    private string FilePath => Path.Combine(_directory.FullName, ConntrackFile.FileName);

    private ConntrackFile Open(int capacity, bool accounting, out string? discarded) => ConntrackFile.Open(_directory.FullName, capacity, accounting, out discarded);

    private static ConntrackTable Table(ConntrackMemory memory) => new(memory.Capacity, ConntrackTableTests.Gateway4, ConntrackTableTests.Gateway6, memory.Accounting, memory: memory);

    private static FlowKey Key(ushort port) => new(IpAddress.Parse("10.244.1.20"), IpAddress.Parse("10.96.0.10"), port, 80, IpProtocol.Tcp);

    private void WriteFlows(int capacity, int flows)
    {
        using ConntrackFile file = Open(capacity, accounting: false, out string? discarded);
        Assert.Null(discarded);
        Assert.False(file.Restored);
        ConntrackTable table = Table(file);
        for (int i = 0; i < flows; i++)
        {
            FlowEntry flow = ConntrackTableTests.ServiceFlow("10.244.1.20", (ushort)(40000 + i), "10.96.0.10", 80, "10.244.2.12", 8080, T + 1_000_000_000);
            Assert.Equal(InsertResult.Inserted, table.FindOrInsert(in flow, T, true, out _, out _));
        }
    }

    [Fact]
    public void A_second_mapping_takes_over_the_flows_the_first_one_wrote()
    {
        WriteFlows(1024, 100);

        using ConntrackFile again = Open(1024, accounting: false, out string? discarded);
        Assert.Null(discarded);
        Assert.True(again.Restored);
        ConntrackTable table = Table(again);
        Assert.Equal(new ConntrackRestore(100, 0, 0), table.Restore(T, long.MaxValue / 4));
        Assert.True(table.TryLookup(Key(40099), T, out int entry, out _));
        Assert.Equal(8080, table.Entry(entry).NatPort);
    }

    [Theory]
    [InlineData("capacity", "holds 1024 entries (accounting off), the config now asks for 2048 (off)")]
    [InlineData("accounting", "holds 1024 entries (accounting off), the config now asks for 1024 (on)")]
    [InlineData("checksum", "corrupt header (checksum mismatch)")]
    [InlineData("magic", "is not a conntrack file (bad magic)")]
    [InlineData("layout", "corrupt header (checksum mismatch)")]
    [InlineData("truncated", "not the")]
    [InlineData("short", "too short for its header")]
    public void An_incompatible_or_damaged_file_is_discarded_with_the_reason_and_replaced(string damage, string reason)
    {
        WriteFlows(1024, 10);
        int capacity = damage == "capacity" ? 2048 : 1024;
        bool accounting = damage == "accounting";
        using (var stream = new FileStream(FilePath, FileMode.Open, FileAccess.ReadWrite))
        {
            switch (damage)
            {
                case "checksum":
                    stream.Position = 20; // the flags word, covered by the checksum
                    stream.WriteByte(0x80);
                    break;
                case "magic":
                    stream.Position = 0;
                    stream.WriteByte((byte)'X');
                    break;
                case "layout":
                    stream.Position = 8;
                    stream.WriteByte(99);
                    break;
                case "truncated":
                    stream.SetLength(stream.Length - 80);
                    break;
                case "short":
                    stream.SetLength(12);
                    break;
            }
        }

        using ConntrackFile file = Open(capacity, accounting, out string? discarded);

        Assert.NotNull(discarded);
        Assert.Contains(reason, discarded, StringComparison.Ordinal);
        Assert.StartsWith(FilePath, discarded, StringComparison.Ordinal);
        Assert.False(file.Restored);
        ConntrackTable table = Table(file);
        Assert.Equal(0, table.Count);
        Assert.False(table.TryLookup(Key(40000), T, out _, out _));
    }
}
