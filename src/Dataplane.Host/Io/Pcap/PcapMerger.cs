namespace Dataplane.Io.Pcap;

/// <summary>
/// Merges the records of several capture files into one stream ordered by timestamp, as <c>dataplane replay</c>
/// feeds them to the pipeline. It streams: it holds one record per input (the input's next one), so memory is
/// O(inputs) whatever the file sizes, and it allocates nothing per record.
/// </summary>
/// <remarks>
/// Ties keep a stable order: records with equal timestamps come out in input order (lower index first), and
/// records of one input always keep their file order. An input whose timestamps go backwards is still read in
/// file order; the merge then is only as sorted as its inputs.
/// The smallest head is found by a linear scan: the inputs are a replay's ports, a handful, for which a scan
/// of a small array beats maintaining a heap.
/// </remarks>
public sealed class PcapMerger : IDisposable
{
    private readonly Input[] _inputs;
    private bool _started;
    // The input whose head the last call returned. It is advanced at the start of the next call, not before
    // returning, so that the returned record's frame (borrowed from that input's reader) stays valid until then.
    private int _returned = -1;
    private PcapFileError? _error;

    /// <summary>Takes ownership of the sources: <see cref="Dispose"/> disposes them.</summary>
    public PcapMerger(IEnumerable<(string PortName, IPcapSource Source)> inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        _inputs = inputs.Select(i => new Input(i.PortName, i.Source)).ToArray();
    }

    public int InputCount => _inputs.Length;

    /// <summary>Set once <see cref="TryReadNext"/> has returned false because one of the inputs failed.</summary>
    public PcapFileError? Failure => _error;

    public string PortName(int inputIndex) => _inputs[inputIndex].PortName;

    public IPcapSource Source(int inputIndex) => _inputs[inputIndex].Source;

    /// <summary>
    /// Returns the record with the smallest timestamp among the inputs' next records, and the index of its input.
    /// The record is valid until the next call. Returns false when every input is exhausted, or when one failed
    /// (see <see cref="Failure"/>): a replay stops at the first corrupt file rather than silently skipping it.
    /// </summary>
    public bool TryReadNext(out int inputIndex, out PcapRecord record)
    {
        if (!_started)
        {
            _started = true;
            for (int i = 0; i < _inputs.Length; i++)
            {
                Advance(i);
            }
        }
        else if (_returned >= 0)
        {
            Advance(_returned);
        }

        _returned = -1;
        inputIndex = -1;
        record = default;
        if (_error is not null)
        {
            return false;
        }

        Input[] inputs = _inputs;
        long smallest = long.MaxValue;
        for (int i = 0; i < inputs.Length; i++)
        {
            // Strictly smaller: on a tie the lower input index, seen first, wins.
            if (inputs[i].HasHead && (inputIndex < 0 || inputs[i].Head.TimestampNanoseconds < smallest))
            {
                inputIndex = i;
                smallest = inputs[i].Head.TimestampNanoseconds;
            }
        }
        if (inputIndex < 0)
        {
            return false;
        }

        _returned = inputIndex;
        record = inputs[inputIndex].Head;
        return true;
    }

    private void Advance(int i)
    {
        ref Input input = ref _inputs[i];
        input.HasHead = input.Source.TryReadNext(out input.Head);
        if (!input.HasHead && input.Source.Failure is { } error)
        {
            _error ??= error;
        }
    }

    public void Dispose()
    {
        foreach (Input input in _inputs)
        {
            input.Source.Dispose();
        }
    }

    private struct Input(string portName, IPcapSource source)
    {
        public readonly string PortName = portName;
        public readonly IPcapSource Source = source;
        public PcapRecord Head;
        public bool HasHead;
    }
}
