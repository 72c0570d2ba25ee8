using System.Threading.Channels;
using Dataplane.Conntrack;

namespace Dataplane.Daemon;

/// <summary>
/// Fans the conntrack table's <see cref="FlowEventRing"/> out to every `ctl flows --follow` client: while at least
/// one follows, one drain task empties the ring every 50 ms into each follower's bounded channel (a slow
/// follower loses its oldest events, never the workers' time).
/// </summary>
public sealed class FlowEventFeed(FlowEventRing ring)
{
    private readonly Lock _lock = new();
    private readonly List<Channel<FlowEvent>> _followers = [];
    private CancellationTokenSource? _drain;

    public FlowEventRing Ring { get; } = ring;

    /// <summary>
    /// Follows from this call on: events from now are kept for the returned follower, so a client told "following"
    /// after this returns misses none (registering lazily, on the first read, lost the events in between).
    /// </summary>
    public Follower Follow()
    {
        var channel = Channel.CreateBounded<FlowEvent>(new BoundedChannelOptions(16384) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true });
        lock (_lock)
        {
            _followers.Add(channel);
            if (_followers.Count == 1)
            {
                Ring.Follow();
                _drain = new CancellationTokenSource();
                _ = DrainAsync(_drain.Token);
            }
        }

        return new Follower(this, channel);
    }

    private void Unfollow(Channel<FlowEvent> channel)
    {
        lock (_lock)
        {
            if (!_followers.Remove(channel) || _followers.Count != 0)
            {
                return;
            }

            Ring.Unfollow();
            _drain?.Cancel();
            _drain?.Dispose();
            _drain = null;
        }
    }

    /// <summary>One `ctl flows --follow` client's events; disposing it stops following.</summary>
    public sealed class Follower(FlowEventFeed feed, Channel<FlowEvent> channel) : IDisposable
    {
        public IAsyncEnumerable<FlowEvent> ReadAllAsync(CancellationToken cancel) => channel.Reader.ReadAllAsync(cancel);

        public void Dispose() => feed.Unfollow(channel);
    }

    private async Task DrainAsync(CancellationToken cancel)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(50));
        try
        {
            while (await timer.WaitForNextTickAsync(cancel).ConfigureAwait(false))
            {
                lock (_lock)
                {
                    while (Ring.TryRead(out FlowEvent e))
                    {
                        foreach (Channel<FlowEvent> follower in _followers)
                        {
                            follower.Writer.TryWrite(e);
                        }
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }
}
