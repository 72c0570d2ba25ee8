using Dataplane.Conntrack;
using Dataplane.Packets;

namespace Dataplane.Daemon;

/// <summary>
/// `ctl conntrack` and `ctl flows`: one page of the live flows, read entry by entry from the table in place.
/// Nothing is copied but the page: at 64k entries the old whole-table snapshot made about 14 MB of garbage per call
/// (RSS reached 590 MB at one call per second, issue 12); a page of 100 makes well under 1 MB whatever the table's size.
/// The cursor is an entry's slot in the table, so pages are cheap to resume but not a snapshot: a flow created or
/// ended between two pages may be missed or listed, as with `conntrack -L` on a busy kernel.
/// </summary>
internal static class ConntrackListing
{
    /// <summary>Listed when the request does not say how many.</summary>
    public const int DefaultLimit = 100;

    /// <summary>Copies of an entry that changed while being read: after these, it is skipped as being rewritten.</summary>
    private const int ReadAttempts = 4;

    /// <param name="Total">Live flows in the table.</param>
    /// <param name="Matched">Live flows matching the filter, over the whole table (not only this page).</param>
    /// <param name="Next">The cursor for the next page (`--after`), or null when this page reached the end of the table.</param>
    public sealed record ConntrackResult(int Total, int Matched, int Removed, IReadOnlyList<ControlCommands.FlowInfo> Flows, int? Next);

    /// <summary>The request's filter (address and port on either side), null parts matching everything.</summary>
    private readonly struct Filter(IpAddress? ip, int? port)
    {
        public bool Matches(in FlowEntry e)
        {
            bool ipOk = ip is not { } a || e.Original.Source == a || e.Original.Destination == a || new IpAddress(new Ip6Address(e.NatHi, e.NatLo)) == a;
            bool portOk = port is not { } p || e.Original.SourcePort == p || e.Original.DestinationPort == p || e.NatPort == p;
            return ipOk && portOk;
        }
    }

    /// <param name="now">The pipeline clock: an entry is live while it expires later than this.</param>
    public static ConntrackResult List(ConntrackTable table, ControlRequest request, long now)
    {
        IpAddress? ip = request.Ip is null ? null : IpAddress.TryParse(request.Ip, out IpAddress parsed) ? parsed : throw new ArgumentException($"'{request.Ip}' is not an IP address");
        var filter = new Filter(ip, request.Port);
        int after = request.After ?? 0;
        int limit = request.Count ?? DefaultLimit;
        var flows = new List<ControlCommands.FlowInfo>(Math.Min(limit, DefaultLimit));
        int total = 0;
        int matched = 0;
        int? next = null;
        int capacity = table.Capacity;
        for (int i = 0; i < capacity; i++)
        {
            if (!TryRead(table, i, now, out FlowEntry entry))
            {
                continue;
            }

            total++;
            if (!filter.Matches(in entry))
            {
                continue;
            }

            matched++;
            if (request.Flush || i < after || next is not null)
            {
                continue;
            }

            if (flows.Count == limit)
            {
                next = i;
                continue;
            }

            flows.Add(ControlCommands.Describe(in entry, now, table.Counters(i)));
        }

        if (request.Flush)
        {
            int removed = table.RemoveWhere(e => filter.Matches(in e));
            return new ConntrackResult(total, matched, removed, [], null);
        }

        return new ConntrackResult(total, matched, 0, flows, next);
    }

    /// <summary>
    /// A consistent copy of entry <paramref name="index"/> if it is live. The table rewrites an entry under its
    /// seqlock (<see cref="FlowEntry.Version"/> odd meanwhile); a copy taken across a rewrite is taken again.
    /// </summary>
    private static bool TryRead(ConntrackTable table, int index, long now, out FlowEntry entry)
    {
        ref FlowEntry slot = ref table.Entry(index);
        for (int attempt = 0; attempt < ReadAttempts; attempt++)
        {
            uint before = Volatile.Read(ref slot.Version);
            entry = slot;
            if ((before & 1) == 0 && Volatile.Read(ref slot.Version) == before)
            {
                return entry.Expires > now;
            }
        }

        entry = default;
        return false;
    }
}
