using System.Text;
using Dataplane.Cni;

namespace Dataplane.Fuzz.Targets;

/// <summary>
/// The CNI plugin's stdin: <see cref="NetConf.Parse"/> then <see cref="NetConf.Validate"/>, and the copy with another
/// cniVersion the plugin hands to an older IPAM plugin. Whatever the runtime sends, the plugin must answer with a
/// CNI error (a <see cref="CniException"/>, printed as the spec's error JSON), never die with another exception.
/// </summary>
public static class CniNetConfTarget
{
    public static void Run(byte[] input)
    {
        try
        {
            NetConf conf = NetConf.Parse(Encoding.UTF8.GetString(input));
            _ = conf.TextWithVersion("0.4.0");
            conf.Validate();
        }
        catch (CniException)
        {
        }
    }
}
