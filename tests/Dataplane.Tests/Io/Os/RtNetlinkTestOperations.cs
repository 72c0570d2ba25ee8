using Dataplane.Io;
using Dataplane.Io.Netlink;

namespace Dataplane.Tests.Io.Os;

/// <summary>
/// Netlink requests only the tests make (bridges, renames, dumps, deletes), over <see cref="RtNetlink"/>'s own
/// request plumbing, so the daemon carries none of them.
/// </summary>
internal static class RtNetlinkTestOperations
{
    public static bool TryGetLinkIndex(this RtNetlink netlink, string name, out int index)
    {
        LinkInfo? link = netlink.TryGetLink(name);
        index = link?.Index ?? 0;
        return link is not null;
    }

    /// <summary>Every link in this namespace (RTM_GETLINK dump).</summary>
    public static IReadOnlyList<LinkInfo> ListLinks(this RtNetlink netlink)
    {
        var w = new NetlinkMessageWriter(netlink.RequestBuffer, Interop.Libc.RTM_GETLINK, Interop.Libc.NLM_F_REQUEST | Interop.Libc.NLM_F_DUMP);
        w.Put<Interop.Libc.ifinfomsg>();
        var links = new List<LinkInfo>();
        netlink.Transact(ref w, () => "list links", (type, payload) =>
        {
            if (type == Interop.Libc.RTM_NEWLINK && RtNetlink.ParseLink(payload) is { } link)
            {
                links.Add(link);
            }
        });
        return links;
    }

    /// <summary>Renames a link (it must be down: the kernel answers EBUSY otherwise).</summary>
    public static void RenameLink(this RtNetlink netlink, int index, string newName)
    {
        InterfaceName.Validate(newName, nameof(newName));
        Func<string> what = () => $"rename link {netlink.DescribeLink(index)} to '{newName}'";
        var w = new NetlinkMessageWriter(netlink.RequestBuffer, Interop.Libc.RTM_SETLINK, Interop.Libc.NLM_F_REQUEST | Interop.Libc.NLM_F_ACK);
        w.Put<Interop.Libc.ifinfomsg>().ifi_index = index;
        w.AttributeString(Interop.Libc.IFLA_IFNAME, newName);
        netlink.Transact(ref w, what);
    }

    public static void SetLinkDown(this RtNetlink netlink, int index) => netlink.SetLinkFlags(index, up: false);

    /// <summary>Enslaves the link to a bridge (IFLA_MASTER); 0 releases it.</summary>
    public static void SetLinkMaster(this RtNetlink netlink, int index, int masterIndex)
    {
        Func<string> what = () => masterIndex == 0
            ? $"release link {netlink.DescribeLink(index)} from its master"
            : $"enslave link {netlink.DescribeLink(index)} to {netlink.DescribeLink(masterIndex)}";
        var w = new NetlinkMessageWriter(netlink.RequestBuffer, Interop.Libc.RTM_SETLINK, Interop.Libc.NLM_F_REQUEST | Interop.Libc.NLM_F_ACK);
        w.Put<Interop.Libc.ifinfomsg>().ifi_index = index;
        w.AttributeU32(Interop.Libc.IFLA_MASTER, (uint)masterIndex);
        netlink.Transact(ref w, what);
    }

    /// <summary>Deletes a link (RTM_DELLINK). Deleting one end of a veth pair deletes both.</summary>
    public static void DeleteLink(this RtNetlink netlink, int index)
    {
        Func<string> what = () => $"delete link {netlink.DescribeLink(index)}";
        var w = new NetlinkMessageWriter(netlink.RequestBuffer, Interop.Libc.RTM_DELLINK, Interop.Libc.NLM_F_REQUEST | Interop.Libc.NLM_F_ACK);
        w.Put<Interop.Libc.ifinfomsg>().ifi_index = index;
        netlink.Transact(ref w, what);
    }

    /// <summary>Deletes the link called <paramref name="name"/>; false if there was none.</summary>
    public static bool TryDeleteLink(this RtNetlink netlink, string name)
    {
        InterfaceName.Validate(name, nameof(name));
        var w = new NetlinkMessageWriter(netlink.RequestBuffer, Interop.Libc.RTM_DELLINK, Interop.Libc.NLM_F_REQUEST | Interop.Libc.NLM_F_ACK);
        w.Put<Interop.Libc.ifinfomsg>();
        w.AttributeString(Interop.Libc.IFLA_IFNAME, name);
        return netlink.Transact(ref w, () => $"delete link '{name}'", toleratedErrno: Errno.ENODEV) == 0;
    }

    /// <summary>Creates a Linux bridge (kind "bridge"), down.</summary>
    public static void CreateBridge(this RtNetlink netlink, string name)
    {
        InterfaceName.Validate(name, nameof(name));
        var w = new NetlinkMessageWriter(netlink.RequestBuffer, Interop.Libc.RTM_NEWLINK,
            Interop.Libc.NLM_F_REQUEST | Interop.Libc.NLM_F_ACK | Interop.Libc.NLM_F_CREATE | Interop.Libc.NLM_F_EXCL);
        w.Put<Interop.Libc.ifinfomsg>();
        w.AttributeString(Interop.Libc.IFLA_IFNAME, name);
        int linkInfo = w.BeginNested(Interop.Libc.IFLA_LINKINFO);
        w.AttributeString(Interop.Libc.IFLA_INFO_KIND, "bridge");
        w.EndNested(linkInfo);
        netlink.Transact(ref w, () => $"create bridge '{name}'");
    }
}
