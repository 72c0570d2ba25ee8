using System.CommandLine;
using System.Net;
using System.Runtime.InteropServices;
using System.Text.Json;
using Dataplane.Ingress;
using Dataplane.Ingress.Control;
using Dataplane.Ingress.Proxy;
using Dataplane.Ingress.Sources;
using Dataplane.Kubernetes;
using k8s;
using Microsoft.Extensions.Logging;

namespace Dataplane.Cli.Commands;

/// <summary>
/// `dataplane ingress`: the Ingress controller, until SIGTERM or SIGINT (SIGHUP re-reads --objects); and
/// `dataplane ingress status`, which asks a running one over its control socket.
/// </summary>
internal static class IngressCommand
{
    /// <summary>Bad arguments, an unreadable objects file or kubeconfig: nothing was started.</summary>
    public const int ExitBadInput = 2;

    /// <summary>Started, but could not listen (an address in use, the control socket taken).</summary>
    public const int ExitCannotServe = 1;

    private const string Name = "dataplane ingress";

    public static Command Create()
    {
        var objects = new Option<FileInfo?>("--objects")
        {
            Description = "Take Ingresses, IngressClasses, Services, EndpointSlices and Secrets from this file (`kubectl get ingress,ingressclass,svc,endpointslices,secrets -A -o yaml`) instead of the API server; SIGHUP re-reads it.",
        };
        var kubeconfig = new Option<FileInfo?>("--kubeconfig")
        {
            Description = "Watch the API server this kubeconfig names. Without it and without --objects: the pod's service account (in-cluster).",
        };
        var http = new Option<string?>("--http") { Description = "Serve HTTP/1.1 on ADDR:PORT, e.g. 0.0.0.0:80 or [::]:80. Required." };
        var https = new Option<string?>("--https") { Description = "Serve HTTPS (HTTP/1.1 and HTTP/2) on ADDR:PORT, with certificates from the Ingresses' TLS Secrets by SNI." };
        var ingressClass = new Option<string>("--ingress-class")
        {
            Description = "The ingressClassName this controller serves (IngressClasses with spec.controller dataplane.io/ingress-controller are served too).",
            DefaultValueFactory = _ => Dataplane.Ingress.Routing.IngressClassSelector.DefaultClassName,
        };
        var controlSocket = ControlSocketOption();
        var metricsAddress = new Option<string?>("--metrics-address") { Description = "Also serve /metrics, /healthz and /readyz over HTTP on IP:PORT (off by default; the control socket always serves them)." };
        var loadBalancing = new Option<string>("--load-balancing")
        {
            Description = "How a backend's requests are spread over its endpoints: round-robin (ingress-nginx's default) or power-of-two (the less busy of two random endpoints).",
            DefaultValueFactory = _ => "round-robin",
        };
        var logLevel = new Option<LogLevel>("--log-level") { Description = "Trace, Debug, Information, Warning, Error.", DefaultValueFactory = _ => LogLevel.Information };

        var command = new Command("ingress", "Run the Ingress controller: HTTP(S) routed by host and path to Service endpoints, on YARP and Kestrel.")
        {
            objects, kubeconfig, http, https, ingressClass, controlSocket, metricsAddress, loadBalancing, logLevel,
        };
        command.Subcommands.Add(Status());
        command.SetAction(async (parse, cancel) =>
        {
            TextWriter error = parse.InvocationConfiguration.Error;
            int Fail(string message, int code = ExitBadInput)
            {
                error.WriteLine($"{Name}: {message}");
                return code;
            }

            FileInfo? objectsFile = parse.GetValue(objects);
            FileInfo? kubeconfigFile = parse.GetValue(kubeconfig);
            if (objectsFile is not null && kubeconfigFile is not null)
            {
                return Fail("--objects and --kubeconfig are two sources of the same objects; give one");
            }

            if (parse.GetValue(http) is not { } httpText)
            {
                return Fail("--http ADDR:PORT is required (e.g. --http 0.0.0.0:80)");
            }

            if (Endpoint("--http", httpText, out string? problem) is not { } httpEndpoint
                || Endpoint("--https", parse.GetValue(https), out problem) is var httpsEndpoint && problem is not null
                || Endpoint("--metrics-address", parse.GetValue(metricsAddress), out problem) is var metricsEndpoint && problem is not null)
            {
                return Fail(problem!);
            }

            // The controller replaces a stale socket file at the path; a user's file there must be refused, not deleted.
            if (Dataplane.Config.ControlSocketFile.SocketProblem(Path.GetFullPath(parse.GetValue(controlSocket)!)) is { } socketProblem)
            {
                return Fail($"--control-socket {socketProblem}");
            }

            string className = parse.GetValue(ingressClass)!;
            if (className.Length == 0)
            {
                return Fail("--ingress-class must not be empty");
            }

            LoadBalancing? balancing = parse.GetValue(loadBalancing) switch
            {
                "round-robin" => LoadBalancing.RoundRobin,
                "power-of-two" => LoadBalancing.PowerOfTwo,
                _ => null,
            };
            if (balancing is null)
            {
                return Fail($"--load-balancing '{parse.GetValue(loadBalancing)}': expected round-robin or power-of-two");
            }

            IngressSource source;
            IReadOnlyList<ObjectsFileProblem> fileWarnings = [];
            if (objectsFile is not null)
            {
                if (FileIngressSource.Open(objectsFile.FullName, out IReadOnlyList<ObjectsFileProblem> errors, out fileWarnings) is not { } file)
                {
                    // Each problem is one line, file:line:col; an unreadable file is exactly one.
                    foreach (ObjectsFileProblem e in errors)
                    {
                        error.WriteLine($"{Name}: {e}");
                    }

                    return ExitBadInput;
                }

                source = file;
            }
            else
            {
                try
                {
                    source = new ApiIngressSource(ApiServerClient.Create(kubeconfigFile?.FullName));
                }
                catch (ApiServerConfigException ex)
                {
                    return Fail(ex.Message);
                }
            }

            var options = new IngressOptions
            {
                Http = httpEndpoint,
                Https = httpsEndpoint,
                IngressClass = className,
                ControlSocket = parse.GetValue(controlSocket)!,
                MetricsAddress = metricsEndpoint,
                LoadBalancing = balancing.Value,
            };
            using ILoggerFactory loggers = Logging.Create(parse.GetValue(logLevel));
            ILogger logger = loggers.CreateLogger("dataplane.ingress");
            foreach (ObjectsFileProblem warning in fileWarnings)
            {
                logger.LogWarning("{Warning}", warning);
            }

            return await RunAsync(options, source, loggers, error, cancel).ConfigureAwait(false);
        });
        return command;
    }

    /// <summary>Serves until SIGTERM or SIGINT (or <paramref name="cancel"/>); SIGHUP reloads an objects file.</summary>
    private static async Task<int> RunAsync(IngressOptions options, IngressSource source, ILoggerFactory loggers, TextWriter error, CancellationToken cancel)
    {
        using var stopping = new StopSignals(cancel);
        IngressController controller;
        try
        {
            controller = await IngressController.StartAsync(options, source, loggers, stopping.Token).ConfigureAwait(false);
        }
        catch (IOException ex)
        {
            error.WriteLine($"{Name}: {ex.Message}");
            return ExitCannotServe;
        }
        catch (OperationCanceledException)
        {
            return 0;
        }

        await using (controller.ConfigureAwait(false))
        {
            using PosixSignalRegistration hangup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, context =>
            {
                context.Cancel = true;
                if (!stopping.IsStopping)
                {
                    controller.Reload();
                }
            });
            string sourceText = source is FileIngressSource f ? $"objects from {f.Path}" : $"watching {((ApiIngressSource)source).Server}";
            string httpsText = controller.Proxy.HttpsEndpoint is { } tls ? $" and https://{tls}" : "";
            loggers.CreateLogger("dataplane.ingress").LogInformation(
                "serving http://{Http}{Https} for ingress class {Class}, {Source}; status: dataplane ingress status --control-socket {Socket}",
                controller.Proxy.HttpEndpoint, httpsText, options.IngressClass, sourceText, options.ControlSocket);
            try
            {
                await Task.Delay(Timeout.Infinite, stopping.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // SIGTERM or SIGINT: stop listening, let Kestrel finish what is in flight.
            }
        }

        return 0;
    }

    private static Command Status()
    {
        var controlSocket = ControlSocketOption();
        var output = new Option<CtlFormat?>("--output", "-o") { Description = "json or yaml; a table when absent." };
        var command = new Command("status", "Routes, backends and their endpoints, TLS hosts and warnings of a running controller.") { controlSocket, output };
        command.SetAction(async (parse, cancel) =>
        {
            TextWriter error = parse.InvocationConfiguration.Error, stdout = parse.InvocationConfiguration.Output;
            string socket = parse.GetValue(controlSocket)!;
            (int code, string body) response;
            try
            {
                response = await Dataplane.Protocol.UnixSocketHttp.GetAsync(socket, "/status", cancel).ConfigureAwait(false);
            }
            catch (HttpRequestException ex)
            {
                error.WriteLine($"{Name} status: no controller answers on {socket}: {ex.Message}");
                return ExitCannotServe;
            }

            if (response.code != 200)
            {
                error.WriteLine($"{Name} status: {socket} answered {response.code}: {response.body.Trim()}");
                return ExitCannotServe;
            }

            using JsonDocument status = JsonDocument.Parse(response.body);
            switch (parse.GetValue(output))
            {
                case CtlFormat.Json:
                    stdout.WriteLine(JsonSerializer.Serialize(status.RootElement, new JsonSerializerOptions { WriteIndented = true }));
                    break;
                case CtlFormat.Yaml:
                    stdout.Write(CtlOutput.Yaml(status.RootElement));
                    break;
                default:
                    IngressStatusOutput.Print(status.RootElement, stdout);
                    break;
            }

            return 0;
        });
        return command;
    }

    private static Option<string> ControlSocketOption() => new("--control-socket")
    {
        Description = "The controller's control socket: /status, /healthz, /readyz, /metrics.",
        DefaultValueFactory = _ => IngressOptions.DefaultControlSocket,
    };

    /// <summary>ADDR:PORT (<c>[v6]:PORT</c> for IPv6); null when <paramref name="text"/> is null or not one (then <paramref name="problem"/> says why).</summary>
    private static IPEndPoint? Endpoint(string option, string? text, out string? problem)
    {
        problem = null;
        if (text is null)
        {
            return null;
        }

        // IPEndPoint.TryParse takes an address alone (port 0) and a bare IPv6 address ("::1") too; neither names a port.
        if (!IPEndPoint.TryParse(text, out IPEndPoint? endpoint) || text.LastIndexOf(':') < 0 || text.EndsWith(']')
            || (endpoint.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 && !text.StartsWith('[')))
        {
            problem = $"{option} '{text}': expected ADDR:PORT, e.g. 0.0.0.0:80 or [::]:80";
            return null;
        }

        return endpoint;
    }
}
