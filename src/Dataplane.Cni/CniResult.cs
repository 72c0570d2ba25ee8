using System.Text.Json;
using System.Text.Json.Serialization;

namespace Dataplane.Cni;

/// <summary>
/// The ADD success result of SPEC.md section 5 (also an IPAM plugin's abbreviated one, and prevResult). Keys we do not
/// model (an interface's socketPath or pciID, a route's priority or table, anything a later spec adds) are kept in
/// <see cref="Extra"/> and written back unchanged, so a result we pass on in a chain loses nothing.
/// </summary>
internal sealed record CniResult
{
    public string? CniVersion { get; init; }

    public IReadOnlyList<CniInterface>? Interfaces { get; init; }

    public IReadOnlyList<CniIpConfig>? Ips { get; init; }

    public IReadOnlyList<CniRoute>? Routes { get; init; }

    public CniDns? Dns { get; init; }

    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Extra { get; set; }

    /// <summary>
    /// This result in the shape of <paramref name="version"/>: 0.4.0 marks each IP with "version" ("4" or "6"),
    /// 1.x does not; an interface's "mtu" exists from 1.1.0 on; an empty dns object is left out (as libcni does).
    /// </summary>
    public CniResult ForVersion(string version) => this with
    {
        CniVersion = version,
        Interfaces = Interfaces?.Select(i => CniVersions.HasInterfaceMtu(version) ? i : i with { Mtu = null }).ToList(),
        Ips = Ips?.Select(ip => ip with { Version = CniVersions.HasIpVersionField(version) ? (ip.IsIPv6 ? "6" : "4") : null }).ToList(),
        Dns = Dns is { IsEmpty: false } ? Dns : null,
    };
}

/// <summary>An interface the attachment made; <see cref="Sandbox"/> is the netns path for one inside the pod.</summary>
internal sealed record CniInterface
{
    public required string Name { get; init; }

    public string? Mac { get; init; }

    public int? Mtu { get; init; }

    public string? Sandbox { get; init; }

    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Extra { get; set; }
}

/// <summary>An address in CIDR form, its gateway, and the index into the result's interfaces (absent from IPAM results).</summary>
internal sealed record CniIpConfig
{
    /// <summary>Only in 0.4.0 (and older) results: "4" or "6". Ignored on input, recomputed on output.</summary>
    public string? Version { get; init; }

    public required string Address { get; init; }

    public string? Gateway { get; init; }

    public int? Interface { get; init; }

    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Extra { get; set; }

    [JsonIgnore]
    public bool IsIPv6 => Address.Contains(':', StringComparison.Ordinal);
}

/// <summary>A route: destination CIDR and optional next hop (mtu, advmss, priority, table, scope ride in <see cref="Extra"/>).</summary>
internal sealed record CniRoute
{
    public required string Dst { get; init; }

    public string? Gw { get; init; }

    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Extra { get; set; }
}

/// <summary>DNS settings: from the config's `dns` key, else from IPAM's result, else prevResult's.</summary>
internal sealed record CniDns
{
    public IReadOnlyList<string>? Nameservers { get; init; }

    public string? Domain { get; init; }

    public IReadOnlyList<string>? Search { get; init; }

    public IReadOnlyList<string>? Options { get; init; }

    [JsonIgnore]
    public bool IsEmpty => Nameservers is not { Count: > 0 } && string.IsNullOrEmpty(Domain) && Search is not { Count: > 0 } && Options is not { Count: > 0 };
}
