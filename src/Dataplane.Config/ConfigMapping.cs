using System.Globalization;
using Dataplane.Packets;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Dataplane.Config;

/// <summary>
/// One YAML mapping of the config with its key path and its set of valid keys. The typed getters report a wrong
/// type, a bad value or a missing required key as a <see cref="ConfigError"/> at the offending node and return
/// null (or the default), so the caller's code reads as the list of keys it expects.
/// </summary>
internal sealed class ConfigMapping
{
    private readonly ConfigReader _reader;
    private readonly Dictionary<string, YamlNode> _values = new(StringComparer.Ordinal);

    // Valid keys some unknown key was suggested as: a misspelled required key is then reported once, as the typo.
    private readonly HashSet<string> _suggested = new(StringComparer.Ordinal);

    public ConfigMapping(ConfigReader reader, YamlMappingNode node, string path, IReadOnlyList<string> validKeys, IReadOnlyDictionary<string, string>? renamed = null)
    {
        _reader = reader;
        Node = node;
        Path = path;
        foreach (KeyValuePair<YamlNode, YamlNode> entry in node.Children)
        {
            if (entry.Key is not YamlScalarNode { Value: { } key })
            {
                reader.Error(entry.Key, path, $"keys must be plain names, got {ConfigReader.Describe(entry.Key)}");
                continue;
            }

            if (renamed is not null && renamed.TryGetValue(key, out string? replacement))
            {
                reader.Error(entry.Key, PathOf(key), $"'{key}' is no longer read: {replacement}");
                continue;
            }

            if (!validKeys.Contains(key))
            {
                string? suggestion = KeySuggester.Suggest(key, validKeys);
                string hint = suggestion is null ? "" : $" (did you mean '{suggestion}'?)";
                if (suggestion is not null)
                {
                    _suggested.Add(suggestion);
                }

                reader.Error(entry.Key, PathOf(key), $"unknown key '{key}'{hint}; valid keys: {string.Join(", ", validKeys)}");
                continue;
            }

            // The representation model already refuses duplicate keys as a YAML error, so this never overwrites.
            _values[key] = entry.Value;
        }
    }

    public YamlMappingNode Node { get; }

    public string Path { get; }

    public string PathOf(string key) => Path.Length == 0 ? key : $"{Path}.{key}";

    /// <summary>True when the key is present with a non-null value.</summary>
    public bool Has(string key) => _values.TryGetValue(key, out YamlNode? value) && !ConfigReader.IsNull(value);

    /// <summary>Where to point an error about <paramref name="key"/>: its value, or the mapping when the key is absent.</summary>
    public YamlNode At(string key) => _values.TryGetValue(key, out YamlNode? value) ? value : Node;

    public void Error(string key, string problem) => _reader.Error(At(key), PathOf(key), problem);

    /// <summary>The value node, or null when absent or null (after reporting it when <paramref name="required"/>).</summary>
    public YamlNode? Value(string key, bool required)
    {
        if (_values.TryGetValue(key, out YamlNode? value) && !ConfigReader.IsNull(value))
        {
            return value;
        }

        if (required && !(value is null && _suggested.Contains(key)))
        {
            Error(key, value is null ? $"required key '{key}' is missing" : $"required key '{key}' has no value");
        }

        return null;
    }

    public ConfigMapping? Mapping(string key, IReadOnlyList<string> validKeys, bool required = false)
        => Value(key, required) is { } value ? _reader.Mapping(value, PathOf(key), validKeys) : null;

    /// <summary>The items of a list with their key paths (<c>pods[1]</c>); empty when absent or null.</summary>
    public IReadOnlyList<(YamlNode Item, string Path)> Sequence(string key)
    {
        if (Value(key, required: false) is not { } value)
        {
            return [];
        }

        if (value is not YamlSequenceNode sequence)
        {
            Error(key, $"expected a list, got {ConfigReader.Describe(value)}");
            return [];
        }

        return [.. sequence.Children.Select((item, i) => (item, $"{PathOf(key)}[{i}]"))];
    }

    public string? String(string key, bool required = false)
    {
        if (Scalar(key, required, "a string") is not { } scalar)
        {
            return null;
        }

        return scalar.Value;
    }

    /// <summary>An integer in <paramref name="min"/>..<paramref name="max"/>, or <paramref name="defaultValue"/> when absent or invalid.</summary>
    public int Int(string key, int min, int max, int defaultValue) => Int(key, min, max, required: false) ?? defaultValue;

    public int? Int(string key, int min, int max, bool required)
    {
        if (Scalar(key, required, "an integer") is not { } scalar)
        {
            return null;
        }

        // Only unquoted numbers: YAML reads "80" as a string, and accepting it would hide a templating mistake.
        if (scalar.Style is not (ScalarStyle.Plain or ScalarStyle.Any)
            || !long.TryParse(scalar.Value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long value))
        {
            Error(key, $"expected an integer, got {ConfigReader.Describe(scalar)}");
            return null;
        }

        if (value < min || value > max)
        {
            Error(key, $"{value} is out of range {min}..{max}");
            return null;
        }

        return (int)value;
    }

    public bool Bool(string key, bool defaultValue)
    {
        if (Scalar(key, required: false, "true or false") is not { } scalar)
        {
            return defaultValue;
        }

        if (scalar.Style is ScalarStyle.Plain or ScalarStyle.Any)
        {
            if (string.Equals(scalar.Value, "true", StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }

            if (string.Equals(scalar.Value, "false", StringComparison.OrdinalIgnoreCase))
            {
                return false;
            }
        }

        Error(key, $"expected true or false, got {ConfigReader.Describe(scalar)}");
        return defaultValue;
    }

    /// <summary>One of a fixed set of names, matched case-insensitively; errors list the names as written in <paramref name="choices"/>.</summary>
    public T Choice<T>(string key, IReadOnlyList<(string Name, T Value)> choices, T defaultValue)
    {
        if (String(key) is not { } text)
        {
            return defaultValue;
        }

        foreach ((string name, T value) in choices)
        {
            if (string.Equals(name, text, StringComparison.OrdinalIgnoreCase))
            {
                return value;
            }
        }

        Error(key, $"'{text}' is not one of {string.Join(", ", choices.Select(static c => c.Name))}");
        return defaultValue;
    }

    /// <summary>An IPv4 address; <paramref name="v6Key"/> names the sibling key to suggest when the value is IPv6.</summary>
    public Ip4Address? Ip4(string key, bool required = false, string? v6Key = null)
    {
        if (String(key, required) is not { } text)
        {
            return null;
        }

        if (Ip4Address.TryParse(text, out Ip4Address address))
        {
            return address;
        }

        bool isV6 = text.Contains(':', StringComparison.Ordinal) && Ip6Address.TryParse(text, out _);
        Error(key, isV6 && v6Key is not null ? $"'{text}' is IPv6; {key} takes IPv4 (use {v6Key})" : $"'{text}' is not an IPv4 address");
        return null;
    }

    /// <summary>An IPv6 address; <paramref name="v4Key"/> names the sibling key to suggest when the value is IPv4.</summary>
    public Ip6Address? Ip6(string key, bool required = false, string? v4Key = null)
    {
        if (String(key, required) is not { } text)
        {
            return null;
        }

        if (text.Contains(':', StringComparison.Ordinal) && Ip6Address.TryParse(text, out Ip6Address address))
        {
            return address;
        }

        Error(key, Ip4Address.TryParse(text, out _) && v4Key is not null ? $"'{text}' is IPv4; {key} takes IPv6 (use {v4Key})" : $"'{text}' is not an IPv6 address");
        return null;
    }

    public IpAddress? Ip(string key, bool required = false)
    {
        if (String(key, required) is not { } text)
        {
            return null;
        }

        if (IpAddress.TryParse(text, out IpAddress address))
        {
            return address;
        }

        Error(key, $"'{text}' is not an IP address");
        return null;
    }

    public IpPrefix? Prefix(string key, bool required = false)
    {
        if (String(key, required) is not { } text)
        {
            return null;
        }

        if (IpPrefix.TryParse(text, out IpPrefix prefix, out string? error))
        {
            return prefix;
        }

        Error(key, error ?? $"'{text}' is not a CIDR");
        return null;
    }

    /// <summary>
    /// An interface address written <c>address/length</c> (<c>192.168.77.10/24</c>): unlike a CIDR the host bits are
    /// the point, so <see cref="IpPrefix.TryParse"/> does not fit.
    /// </summary>
    public (IpAddress Address, int Length)? InterfaceAddress(string key, bool v6, bool required = false)
    {
        if (String(key, required) is not { } text)
        {
            return null;
        }

        string family = v6 ? "IPv6" : "IPv4";
        int max = v6 ? 128 : 32;
        int slash = text.IndexOf('/', StringComparison.Ordinal);
        if (slash <= 0)
        {
            Error(key, $"'{text}' must be an {family} address with its prefix length, e.g. {(v6 ? "fd00:77::10/64" : "192.168.77.10/24")}");
            return null;
        }

        bool parsed = v6
            ? text.Contains(':', StringComparison.Ordinal) && Ip6Address.TryParse(text[..slash], out _)
            : Ip4Address.TryParse(text[..slash], out _);
        if (!parsed)
        {
            Error(key, $"'{text}': '{text[..slash]}' is not an {family} address");
            return null;
        }

        if (!int.TryParse(text.AsSpan(slash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out int length) || length < 1 || length > max)
        {
            Error(key, $"'{text}': prefix length must be 1..{max}");
            return null;
        }

        return (IpAddress.Parse(text[..slash]), length);
    }

    /// <summary>A MAC address that may be a frame's source: unicast (I/G bit clear) and not all-zero.</summary>
    public MacAddress? Mac(string key, bool required = false)
    {
        if (String(key, required) is not { } text)
        {
            return null;
        }

        if (!MacAddress.TryParse(text, out MacAddress mac))
        {
            Error(key, $"'{text}' is not a MAC address (expected six hex octets like 02:00:00:00:00:01)");
            return null;
        }

        if (mac.IsZero)
        {
            Error(key, $"'{text}' is the all-zero MAC address; use a locally administered one like 02:00:00:00:00:01");
            return null;
        }

        if (mac.IsMulticast)
        {
            Error(key, $"'{text}' is a group (multicast) MAC address: the low bit of the first octet must be 0");
            return null;
        }

        return mac;
    }

    private YamlScalarNode? Scalar(string key, bool required, string expected)
    {
        if (Value(key, required) is not { } value)
        {
            return null;
        }

        if (value is YamlScalarNode scalar)
        {
            return scalar;
        }

        Error(key, $"expected {expected}, got {ConfigReader.Describe(value)}");
        return null;
    }
}
