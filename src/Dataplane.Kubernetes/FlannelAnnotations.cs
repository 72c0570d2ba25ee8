using System.Text.Json;
using Dataplane.Packets;

namespace Dataplane.Kubernetes;

/// <summary>
/// The Node annotations through which flannel's nodes find each other's VXLAN tunnel endpoints (flannel's kube
/// subnet manager, pkg/subnet/kube/annotations.go and pkg/backend/vxlan in https://github.com/flannel-io/flannel).
/// Each flanneld writes its own node's; reading them lets this node join a flannel cluster:
/// <code>
/// flannel.alpha.coreos.com/backend-type: vxlan
/// flannel.alpha.coreos.com/backend-data: '{"VNI":1,"VtepMAC":"6e:2f:5b:90:1c:0a"}'
/// flannel.alpha.coreos.com/public-ip: 192.168.56.11
/// </code>
/// (and <c>backend-v6-data</c>, <c>public-ipv6</c> for the IPv6 tunnel of a dual-stack cluster). The prefix is
/// flanneld's default; a cluster that changed it with <c>--kube-annotation-prefix</c> is not read.
/// </summary>
public static class FlannelAnnotations
{
    public const string Prefix = "flannel.alpha.coreos.com/";

    /// <summary>The node's backend: <c>vxlan</c>, <c>host-gw</c>, <c>wireguard</c>, ...</summary>
    public const string BackendType = Prefix + "backend-type";

    /// <summary>The backend's lease attributes as JSON; for vxlan <c>{"VNI":1,"VtepMAC":"..."}</c> (vxlanLeaseAttrs).</summary>
    public const string BackendData = Prefix + "backend-data";

    /// <summary>The same for the IPv6 tunnel (the node's <c>flannel-v6.N</c> device).</summary>
    public const string BackendV6Data = Prefix + "backend-v6-data";

    /// <summary>The node's VTEP address (flanneld's --public-ip, else its interface's).</summary>
    public const string PublicIp = Prefix + "public-ip";

    /// <summary>The IPv6 VTEP address.</summary>
    public const string PublicIpv6 = Prefix + "public-ipv6";

    /// <summary>The value of <see cref="BackendType"/> for VXLAN.</summary>
    public const string VxlanBackend = "vxlan";

    /// <summary>The largest VNI: 24 bits (RFC 7348 section 5).</summary>
    private const long MaxVni = (1 << 24) - 1;

    /// <summary>
    /// Reads vxlan backend data. Keys are matched without regard to case, as Go's encoding/json matches them (flannel
    /// writes <c>VNI</c> and <c>VtepMAC</c>); a missing VNI is 0, as it would be for flanneld.
    /// </summary>
    public static bool TryParseVxlanData(string? json, out int vni, out MacAddress vtepMac, out string? problem)
    {
        vni = 0;
        vtepMac = default;
        problem = null;
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json ?? "");
        }
        catch (JsonException e)
        {
            problem = $"'{json}' is not JSON ({e.Message})";
            return false;
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                problem = $"'{json}' is not a JSON object like {{\"VNI\":1,\"VtepMAC\":\"aa:bb:cc:dd:ee:ff\"}}";
                return false;
            }

            string? mac = null;
            foreach (JsonProperty property in document.RootElement.EnumerateObject())
            {
                if (property.Name.Equals("VNI", StringComparison.OrdinalIgnoreCase))
                {
                    if (property.Value.ValueKind != JsonValueKind.Number || !property.Value.TryGetInt64(out long number) || number is < 0 or > MaxVni)
                    {
                        problem = $"VNI {property.Value.GetRawText()} is not a number in 0..{MaxVni}";
                        return false;
                    }

                    vni = (int)number;
                }
                else if (property.Name.Equals("VtepMAC", StringComparison.OrdinalIgnoreCase))
                {
                    mac = property.Value.ValueKind == JsonValueKind.String ? property.Value.GetString() : property.Value.GetRawText();
                }
            }

            if (!MacAddress.TryParse(mac, out vtepMac) || vtepMac.IsZero || vtepMac.IsMulticast)
            {
                problem = mac is null ? $"'{json}' has no VtepMAC" : $"VtepMAC '{mac}' is not a unicast MAC address";
                return false;
            }

            return true;
        }
    }
}
