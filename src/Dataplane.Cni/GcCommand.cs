using Dataplane.Protocol;

namespace Dataplane.Cni;

/// <summary>
/// GC (1.1.0): the daemon removes every runtime-added pod not in `cni.dev/valid-attachments` (pod-gc), then GC goes to
/// the IPAM plugin if it speaks 1.1.0. Debian's host-local 1.1.1 does not (GC came after it), so it is skipped there:
/// its reservations of removed pods are released by their DEL, which the runtime still sends. Both parts run even if
/// one fails (SPEC.md: "continue; ... report the errors").
/// </summary>
internal static class GcCommand
{
    public static void Run(CniInvocation cni)
    {
        IReadOnlyList<ValidAttachment> valid = cni.Conf.ValidAttachments
            ?? throw new CniException(CniErrorCode.InvalidNetworkConfig,
                "GC needs cni.dev/valid-attachments in the network config (an empty list would remove every pod; it must be given explicitly)");

        var errors = new List<CniException>();
        try
        {
            ControlResponse response = cni.Daemon.Send(
                new ControlRequest { Command = "pod-gc", Valid = valid.Select(static a => new PodAttachment(a.ContainerId, a.IfName)).ToList() },
                cni.Timeouts.Pod);
            if (!response.Ok)
            {
                errors.Add(new CniException(CniErrorCode.DaemonRefused, $"the dataplane failed pod-gc: {response.Error ?? "no reason given"}"));
            }
            else if (cni.Daemon.ResultAs(response, ProtocolJson.Default.PodGcResult, "pod-gc").Removed is { Count: > 0 } removed)
            {
                cni.Note($"GC removed {removed.Count} stale pod(s): {string.Join(", ", removed)}");
            }
        }
        catch (DaemonUnreachableException e)
        {
            cni.Note($"{e.Message}; nothing to collect there (a stopped daemon removed its TAPs)");
        }
        catch (DaemonFailedException e)
        {
            errors.Add(new CniException(CniErrorCode.IoFailure, e.Message));
        }

        try
        {
            if (cni.Ipam.Supports(CniVersions.GcAndStatus))
            {
                cni.Ipam.Run(CniCommand.Gc, cni.Conf.Text);
            }
            else
            {
                cni.Note($"IPAM plugin {cni.Ipam.Type} does not support CNI {CniVersions.GcAndStatus}, which GC needs; skipped it (its addresses are released by DEL)");
            }
        }
        catch (CniException e)
        {
            errors.Add(e);
        }

        if (errors.Count > 0)
        {
            throw new CniException(errors[0].Code, string.Join("; ", errors.Select(static e => e.Message)), string.Join("\n", errors.Select(static e => e.Details).OfType<string>()));
        }
    }
}
