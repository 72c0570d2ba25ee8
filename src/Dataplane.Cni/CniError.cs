namespace Dataplane.Cni;

/// <summary>
/// The error codes this plugin answers with. 0-99 are the spec's (SPEC.md, "Error"); 100 and up are ours, so a
/// runtime's log tells the daemon's refusal from an IPAM failure without parsing the message.
/// </summary>
internal static class CniErrorCode
{
    /// <summary>The config's cniVersion is not one we speak, or the IPAM plugin shares no version with it.</summary>
    public const int IncompatibleVersion = 1;

    /// <summary>A config key we understand but cannot honour; the message names the key and its value.</summary>
    public const int UnsupportedField = 2;

    /// <summary>A CNI_* variable is missing or invalid; the message names every one.</summary>
    public const int InvalidEnvironment = 4;

    /// <summary>Reading stdin, or talking to the daemon after connecting, failed.</summary>
    public const int IoFailure = 5;

    /// <summary>stdin (or an answer) is not JSON; the message says where.</summary>
    public const int DecodingFailure = 6;

    /// <summary>The network config is JSON but wrong: a missing or bad key, named in the message.</summary>
    public const int InvalidNetworkConfig = 7;

    /// <summary>The daemon is not listening (it may be restarting): the runtime retries ADD and CHECK later.</summary>
    public const int TryAgainLater = 11;

    /// <summary>STATUS: the daemon (or the IPAM plugin) cannot serve ADD now.</summary>
    public const int NotAvailable = 50;

    /// <summary>STATUS: not available, and existing pods may have limited connectivity (an IPAM plugin's answer, passed on).</summary>
    public const int LimitedConnectivity = 51;

    /// <summary>The daemon answered ok=false: its own message says why (address outside the pod CIDR, wrong gateway, name in use...).</summary>
    public const int DaemonRefused = 100;

    /// <summary>The IPAM plugin failed or could not be run; the message carries its own msg.</summary>
    public const int IpamFailed = 101;

    /// <summary>CHECK: the attachment is not what prevResult says (the daemon's problems are listed).</summary>
    public const int CheckFailed = 102;

    /// <summary>Anything unexpected (libcni's ErrInternal): a bug, reported as an error object instead of a stack trace.</summary>
    public const int Internal = 999;
}

/// <summary>A failure with its CNI error code; <see cref="CniPlugin"/> turns it into the error object on stdout.</summary>
internal sealed class CniException(int code, string message, string? details = null) : Exception(message)
{
    public int Code { get; } = code;

    public string? Details { get; } = details;
}

/// <summary>The error object of SPEC.md section 5, also how an IPAM plugin reports its own failure to us.</summary>
internal sealed record CniError(string? CniVersion, int Code, string? Msg, string? Details);
