namespace Dataplane.Io.Netlink;

/// <summary>
/// The kernel refused an rtnetlink request (NLMSG_ERROR with a negative errno), or the exchange itself
/// failed. The message names the namespace, the operation and the object, the errno, and the kernel's
/// extended-ACK text when it gave one (e.g. "Nexthop has invalid gateway").
/// </summary>
public sealed class NetlinkException : ErrnoException
{
    public NetlinkException(string message, int errno, string? kernelMessage)
        : base(message, errno)
    {
        KernelMessage = kernelMessage;
    }

    /// <summary>NLMSGERR_ATTR_MSG from the extended ACK, if the kernel sent one.</summary>
    public string? KernelMessage { get; }
}
