using System.Diagnostics;
using System.Runtime.InteropServices;
using Dataplane.Io;
using Dataplane.Io.Epoll;

namespace Dataplane.Tests.Infrastructure;

/// <summary>Reads frames from a non-blocking fd with epoll and a deadline until one matches.</summary>
public static class FrameWaiter
{
    public delegate int FrameReader(Span<byte> buffer);

    /// <summary>
    /// Waits (epoll, bounded by <paramref name="timeout"/>) for a frame that <paramref name="match"/> accepts,
    /// reading with <paramref name="read"/> (TapDevice.Read, PacketSocket.Read). Frames that do not match are
    /// skipped (IPv6 router solicitations, MLD reports, ...) and listed in the timeout message.
    /// </summary>
    public static byte[] ReadUntil(SafeHandle fd, FrameReader read, Func<byte[], bool> match, TimeSpan timeout, string what)
    {
        using var loop = new EpollLoop();
        loop.Add(fd, 1);
        // Small on purpose (like debug builds elsewhere): exercise the "more ready than room" path.
        var events = new EpollEvent[2];
        var buffer = new byte[65536 + 64];
        var skipped = new List<string>();
        var clock = Stopwatch.StartNew();
        while (true)
        {
            int remaining = (int)(timeout - clock.Elapsed).TotalMilliseconds;
            if (remaining <= 0)
            {
                throw new TimeoutException(
                    $"no {what} within {timeout.TotalSeconds:0.#} s; skipped {skipped.Count} other frame(s): {string.Join(", ", skipped.Take(10))}");
            }

            if (loop.Wait(events, remaining) == 0)
            {
                continue;
            }

            while (true)
            {
                int length = read(buffer);
                if (length == -Errno.EAGAIN)
                {
                    break;
                }

                if (length < 0)
                {
                    throw new IOException($"reading while waiting for {what}: {Errno.Describe(-length)}");
                }

                byte[] frame = buffer.AsSpan(0, length).ToArray();
                if (match(frame))
                {
                    return frame;
                }

                skipped.Add($"{length} bytes");
            }
        }
    }

    /// <summary>Every frame readable until <paramref name="window"/> passes with nothing new.</summary>
    public static List<byte[]> Drain(SafeHandle fd, FrameReader read, TimeSpan window)
    {
        using var loop = new EpollLoop();
        loop.Add(fd, 1);
        var events = new EpollEvent[2];
        var buffer = new byte[65536 + 64];
        var frames = new List<byte[]>();
        while (loop.Wait(events, (int)window.TotalMilliseconds) > 0)
        {
            int length;
            while ((length = read(buffer)) >= 0)
            {
                frames.Add(buffer.AsSpan(0, length).ToArray());
            }
        }

        return frames;
    }
}
