using Dataplane.Protocol;

namespace Dataplane.Cni;

/// <summary>
/// STATUS (1.1.0): ready for ADD when the daemon answers `status`; then the IPAM plugin's STATUS when it speaks 1.1.0
/// (SPEC.md: a plugin relying on a delegated plugin must ask it too). Anything else is 50, "not available".
/// </summary>
internal static class StatusCommand
{
    public static void Run(CniInvocation cni)
    {
        try
        {
            ControlResponse response = cni.Daemon.Send(new ControlRequest { Command = "status" }, cni.Timeouts.Status);
            if (!response.Ok)
            {
                throw new CniException(CniErrorCode.NotAvailable, $"the dataplane on {cni.Daemon.SocketPath} is not ready: {response.Error ?? "no reason given"}");
            }
        }
        catch (IOException e)
        {
            throw new CniException(CniErrorCode.NotAvailable, e.Message);
        }

        try
        {
            // An IPAM plugin without 1.1.0 has no STATUS to ask (host-local 1.1.1): its readiness shows on ADD.
            if (cni.Ipam.Supports(CniVersions.GcAndStatus))
            {
                cni.Ipam.Run(CniCommand.Status, cni.Conf.Text);
            }
        }
        catch (CniException e) when (e.Code is not (CniErrorCode.NotAvailable or CniErrorCode.LimitedConnectivity))
        {
            // Missing, broken or not ready: either way ADD cannot be served.
            throw new CniException(CniErrorCode.NotAvailable, e.Message, e.Details);
        }
    }
}
