using System.Runtime.InteropServices;

namespace Dataplane.Perf;

/// <summary>
/// While alive, Ctrl-C and SIGTERM stop the run through <see cref="Shell.Stop"/> instead of ending the process, so the
/// benchmark's finally blocks still tear every namespace and process down.
/// </summary>
internal sealed class StopSignals : IDisposable
{
    private readonly PosixSignalRegistration _interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
    private readonly PosixSignalRegistration _terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);

    public void Dispose()
    {
        _terminate.Dispose();
        _interrupt.Dispose();
    }

    private static void Stop(PosixSignalContext context)
    {
        context.Cancel = true;
        Shell.Stop();
    }
}
