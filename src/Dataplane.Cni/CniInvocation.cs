namespace Dataplane.Cni;

/// <summary>What a command works with: the checked environment and config, the daemon, the IPAM plugin, stderr for notes.</summary>
internal sealed record CniInvocation(CniEnvironment Environment, NetConf Conf, DaemonClient Daemon, DaemonTimeouts Timeouts, IpamPlugin Ipam, TextWriter Stderr)
{
    /// <summary>A note for the runtime's log (stderr is unstructured output, SPEC.md section 5).</summary>
    public void Note(string message) => Stderr.WriteLine($"dataplane-cni: {message}");
}
