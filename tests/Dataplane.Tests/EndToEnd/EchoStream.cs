using System.Net.Sockets;
using System.Text;

namespace Dataplane.Tests.EndToEnd;

/// <summary>Sends a small message every 10 ms and waits for its echo; counts echoes and the longest wait.</summary>
internal sealed class EchoStream(Socket socket)
{
    private long _echoes;
    private long _longestGapTicks;

    public long Echoes => Interlocked.Read(ref _echoes);

    public TimeSpan LongestGap => TimeSpan.FromTicks(Interlocked.Read(ref _longestGapTicks));

    public Exception? Error { get; private set; }

    public async Task RunAsync(CancellationToken stop)
    {
        byte[] message = Encoding.ASCII.GetBytes("0123456789abcdef");
        byte[] echo = new byte[message.Length];
        var last = DateTime.UtcNow;
        try
        {
            while (!stop.IsCancellationRequested)
            {
                await socket.SendAsync(message, SocketFlags.None, stop);
                await PodServers.ReceiveExactlyAsync(socket, echo, stop);
                DateTime now = DateTime.UtcNow;
                long gap = (now - last).Ticks;
                if (gap > _longestGapTicks)
                {
                    Interlocked.Exchange(ref _longestGapTicks, gap);
                }

                last = now;
                Interlocked.Increment(ref _echoes);
                await Task.Delay(10, stop);
            }
        }
        catch (OperationCanceledException)
        {
            // Stopped by the test.
        }
        catch (Exception ex) when (ex is SocketException or EndOfStreamException)
        {
            Error = ex;
        }
    }
}
