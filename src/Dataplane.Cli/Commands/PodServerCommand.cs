using System.CommandLine;
using Dataplane.Demo;
using Dataplane.Io.Netns;

namespace Dataplane.Cli.Commands;

/// <summary>
/// `dataplane pod-server`: the demo's TCP server (<see cref="PodServer"/>) outside the demo, for the compose cluster
/// (deploy/compose/): each connection is answered with the server's name and the peer address it saw, as HTTP to curl.
/// </summary>
internal static class PodServerCommand
{
    private static readonly TimeSpan s_namespaceWait = TimeSpan.FromSeconds(60);

    public static Command Create()
    {
        var servers = new Argument<string[]>("server")
        {
            Description = "NAME (in this namespace) or NAME@NETNS (in that network namespace, waited for up to a minute: the daemon makes pods' namespaces as it starts).",
            Arity = ArgumentArity.OneOrMore,
        };
        var port = new Option<int>("--port") { Description = "The TCP port each server listens on.", DefaultValueFactory = _ => 8080 }.Limit(1, 65535);
        var command = new Command("pod-server", "Answer each TCP connection with a name and the peer address seen (the demo's servers; HTTP to curl, a line to nc), until SIGTERM.")
        {
            servers, port,
        };
        command.SetAction(parse => Run(parse.GetValue(servers)!, parse.GetValue(port)));
        return command;
    }

    private static int Run(string[] specs, int port)
    {
        using var stop = new StopSignals();
        var started = new List<PodServer>();
        try
        {
            foreach (string spec in specs)
            {
                string[] parts = spec.Split('@', 2);
                string? netns = parts.Length == 2 ? parts[1] : null;
                var deadline = DateTime.UtcNow + s_namespaceWait;
                while (netns is not null && !NetworkNamespace.Exists(netns))
                {
                    if (DateTime.UtcNow > deadline || stop.IsStopping)
                    {
                        Console.Error.WriteLine($"pod-server: no network namespace '{netns}' after {s_namespaceWait.TotalSeconds:0} s");
                        return 1;
                    }

                    Thread.Sleep(200);
                }

                started.Add(new PodServer(netns, parts[0], port));
                Console.WriteLine($"pod-server: {parts[0]} listening on port {port}{(netns is null ? "" : $" in {netns}")}");
            }

            stop.Token.WaitHandle.WaitOne();
            return 0;
        }
        finally
        {
            foreach (PodServer server in started)
            {
                server.Dispose();
            }
        }
    }
}
