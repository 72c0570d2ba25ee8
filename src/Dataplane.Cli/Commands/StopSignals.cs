using System.Runtime.InteropServices;

namespace Dataplane.Cli.Commands;

/// <summary>
/// While alive, SIGTERM and SIGINT cancel <see cref="Token"/> instead of ending the process (the default action), so a
/// command unwinds through its cleanup and leaves no TAP, namespace or process behind, also when signalled twice.
/// </summary>
internal sealed class StopSignals : IDisposable
{
    private readonly CancellationTokenSource _stop;
    private readonly PosixSignalRegistration _terminate;
    private readonly PosixSignalRegistration _interrupt;

    /// <param name="linked">Also stop when this is cancelled.</param>
    public StopSignals(CancellationToken linked = default)
    {
        _stop = CancellationTokenSource.CreateLinkedTokenSource(linked);
        _terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
        _interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
    }

    public CancellationToken Token => _stop.Token;

    public bool IsStopping => _stop.IsCancellationRequested;

    public void Dispose()
    {
        _interrupt.Dispose();
        _terminate.Dispose();
        _stop.Dispose();
    }

    private void Stop(PosixSignalContext context)
    {
        context.Cancel = true;
        _stop.Cancel();
    }
}
