namespace Dataplane.Cni;

/// <summary>
/// The CNI_* variables of one invocation, checked the way libcni's skel checks them: which ones a command requires,
/// container ID and interface name syntax. Every problem is error 4 naming the variable (all the missing ones at once).
/// </summary>
internal sealed record CniEnvironment(
    CniCommand Command,
    string CommandName,
    string? ContainerId,
    string? Netns,
    string? IfName,
    IReadOnlyDictionary<string, string> Args,
    IReadOnlyList<string> Path,
    IReadOnlyDictionary<string, string> Variables)
{
    public const string CommandVariable = "CNI_COMMAND";
    public const string ContainerIdVariable = "CNI_CONTAINERID";
    public const string NetnsVariable = "CNI_NETNS";
    public const string IfNameVariable = "CNI_IFNAME";
    public const string ArgsVariable = "CNI_ARGS";
    public const string PathVariable = "CNI_PATH";

    /// <summary>Linux's IFNAMSIZ less the terminating NUL.</summary>
    private const int MaxInterfaceName = 15;

    /// <summary>
    /// The pod's name for the daemon: "namespace/name" from the K8S_POD_NAMESPACE and K8S_POD_NAME arguments the
    /// kubelet's runtime passes in CNI_ARGS, the bare name without a namespace, or null (the daemon picks one).
    /// </summary>
    public string? PodName => (Args.GetValueOrDefault("K8S_POD_NAMESPACE"), Args.GetValueOrDefault("K8S_POD_NAME")) switch
    {
        ({ Length: > 0 } ns, { Length: > 0 } name) => $"{ns}/{name}",
        (_, { Length: > 0 } name) => name,
        _ => null,
    };

    public static CniEnvironment Parse(IReadOnlyDictionary<string, string> variables)
    {
        string? commandName = Get(variables, CommandVariable);
        if (commandName is null)
        {
            throw new CniException(CniErrorCode.InvalidEnvironment, $"required environment variable {CommandVariable} is missing (ADD, DEL, CHECK, GC, STATUS or VERSION)");
        }

        CniCommand command = commandName switch
        {
            "ADD" => CniCommand.Add,
            "DEL" => CniCommand.Del,
            "CHECK" => CniCommand.Check,
            "VERSION" => CniCommand.Version,
            "STATUS" => CniCommand.Status,
            "GC" => CniCommand.Gc,
            _ => throw new CniException(CniErrorCode.InvalidEnvironment, $"{CommandVariable} \"{commandName}\" is not one of ADD, DEL, CHECK, GC, STATUS, VERSION"),
        };

        string? containerId = Get(variables, ContainerIdVariable);
        string? netns = Get(variables, NetnsVariable);
        string? ifName = Get(variables, IfNameVariable);
        string? path = Get(variables, PathVariable);

        // What each command needs (SPEC.md section 2; CNI_PATH as libcni's skel requires it: we always delegate).
        bool attachment = command is CniCommand.Add or CniCommand.Del or CniCommand.Check;
        var missing = new List<string>();
        if (attachment && containerId is null)
        {
            missing.Add(ContainerIdVariable);
        }

        if (command is CniCommand.Add or CniCommand.Check && netns is null)
        {
            missing.Add(NetnsVariable);
        }

        if (attachment && ifName is null)
        {
            missing.Add(IfNameVariable);
        }

        if (command != CniCommand.Version && path is null)
        {
            missing.Add(PathVariable);
        }

        if (missing.Count > 0)
        {
            throw new CniException(CniErrorCode.InvalidEnvironment, $"required environment variables missing for {commandName}: {string.Join(", ", missing)}");
        }

        // Checked only where they are used (a runtime may leave stale values around for VERSION, GC or STATUS).
        if (attachment && !CniNames.IsValid(containerId!))
        {
            throw new CniException(CniErrorCode.InvalidEnvironment, $"{ContainerIdVariable} \"{containerId}\" is invalid: {CniNames.Rule}");
        }

        if (attachment && InterfaceNameProblem(ifName!) is { } problem)
        {
            throw new CniException(CniErrorCode.InvalidEnvironment, $"{IfNameVariable} \"{ifName}\" is invalid: {problem}");
        }

        return new CniEnvironment(
            command, commandName, containerId, netns, ifName,
            ParseArgs(Get(variables, ArgsVariable)),
            path?.Split(':', StringSplitOptions.RemoveEmptyEntries) ?? [],
            variables);
    }

    /// <summary>An empty variable counts as missing, as in libcni.</summary>
    private static string? Get(IReadOnlyDictionary<string, string> variables, string name) =>
        variables.TryGetValue(name, out string? value) && value.Length > 0 ? value : null;

    /// <summary>The kernel's dev_valid_name rules, as libcni's ValidateInterfaceName applies them.</summary>
    private static string? InterfaceNameProblem(string name)
    {
        if (name.Length > MaxInterfaceName)
        {
            return $"longer than {MaxInterfaceName} characters";
        }

        if (name is "." or "..")
        {
            return "\".\" and \"..\" are not interface names";
        }

        return name.Any(static c => c is '/' or ':' || char.IsWhiteSpace(c)) ? "contains '/', ':' or whitespace" : null;
    }

    /// <summary>"K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-1;IgnoreUnknown=1": a pair without '=' is refused (as libcni does).</summary>
    private static Dictionary<string, string> ParseArgs(string? args)
    {
        var parsed = new Dictionary<string, string>(StringComparer.Ordinal);
        if (args is null)
        {
            return parsed;
        }

        foreach (string pair in args.Split(';', StringSplitOptions.RemoveEmptyEntries))
        {
            int equals = pair.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0)
            {
                throw new CniException(CniErrorCode.InvalidEnvironment, $"{ArgsVariable} has \"{pair}\", which is not KEY=VALUE");
            }

            parsed[pair[..equals]] = pair[(equals + 1)..];
        }

        return parsed;
    }
}
