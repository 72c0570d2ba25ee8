using k8s;

namespace Dataplane.Kubernetes;

/// <summary>
/// The API server client, configured as kube-proxy is: from <c>--kubeconfig PATH</c> when given, else from the pod's
/// service account (in-cluster). Every way this can fail becomes an <see cref="ApiServerConfigException"/> whose
/// message is one line, so the CLI prints it without a stack trace.
/// </summary>
public static class ApiServerClient
{
    private const string ServiceAccountToken = "/var/run/secrets/kubernetes.io/serviceaccount/token";

    public static IKubernetes Create(string? kubeconfigPath)
    {
        KubernetesClientConfiguration config = LoadConfiguration(kubeconfigPath);
        try
        {
            return Create(config);
        }
        catch (Exception ex)
        {
            // The client checks the configuration and loads its certificates here.
            throw new ApiServerConfigException($"{Source(kubeconfigPath)}: {OneLine(ex)}", ex);
        }
    }

    /// <summary>The client for a configuration, set up for long watches (what every path here ends in).</summary>
    public static IKubernetes Create(KubernetesClientConfiguration config)
    {
        Action<System.Net.Http.SocketsHttpHandler>? setup = config.FirstMessageHandlerSetup;
        config.FirstMessageHandlerSetup = handler =>
        {
            // A watch stopped mid-stream disposes its response unread. By default HttpClient then keeps reading it
            // for up to 2 s, hoping to reuse the connection, and the server holds the watch open all that time; a
            // watch never ends by itself, so close the connection at once instead.
            handler.MaxResponseDrainSize = 0;
            setup?.Invoke(handler);
        };
        return new k8s.Kubernetes(config);
    }

    public static KubernetesClientConfiguration LoadConfiguration(string? kubeconfigPath)
    {
        if (kubeconfigPath is not null)
        {
            if (!File.Exists(kubeconfigPath))
            {
                throw new ApiServerConfigException($"kubeconfig {kubeconfigPath}: no such file");
            }

            try
            {
                return KubernetesClientConfiguration.BuildConfigFromConfigFile(kubeconfigPath);
            }
            catch (Exception ex)
            {
                // KubeConfigException (no context, no cluster), YamlException (not YAML), FormatException (bad
                // base64 certificate data), IOException (a referenced certificate file): all say what is wrong.
                throw new ApiServerConfigException($"kubeconfig {kubeconfigPath}: {OneLine(ex)}", ex);
            }
        }

        if (!KubernetesClientConfiguration.IsInCluster())
        {
            throw new ApiServerConfigException(
                "no --kubeconfig given and not running in a pod (KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT " +
                $"must be set and {ServiceAccountToken} present)");
        }

        try
        {
            return KubernetesClientConfiguration.InClusterConfig();
        }
        catch (Exception ex)
        {
            throw new ApiServerConfigException($"in-cluster configuration: {OneLine(ex)}", ex);
        }
    }

    private static string Source(string? kubeconfigPath) =>
        kubeconfigPath is null ? "in-cluster configuration" : $"kubeconfig {kubeconfigPath}";

    private static string OneLine(Exception ex) => ex.Message.ReplaceLineEndings(" ").Trim();
}
