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

    /// <summary>Events as they happen, until <paramref name="cancel"/>.</summary>
    public async IAsyncEnumerable<FlowEvent> FollowAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancel)
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

        try
        {
            await foreach (FlowEvent e in channel.Reader.ReadAllAsync(cancel).ConfigureAwait(false))
            {
                yield return e;
            }
        }
        finally
        {
            lock (_lock)
            {
                _followers.Remove(channel);
                if (_followers.Count == 0)
                {
                    Ring.Unfollow();
                    _drain?.Cancel();
                    _drain?.Dispose();
                    _drain = null;
                }
            }
        }
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
