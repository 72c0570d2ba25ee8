namespace Dataplane.IngressSideBySide;

/// <summary>
/// The nginx configurations of the run: the backends (a static "ok") and nginx as the reverse proxy our controller is
/// compared with. Both log nothing per request (access_log off, errors at warn), as the controller runs at
/// --log-level Warning; both keep client connections for as long as the load generator does (keepalive_requests).
/// </summary>
internal static class Nginx
{
    /// <summary>A backend: one worker, "ok\n" from memory on <see cref="Topology.BackendPort"/>, stub_status apart.</summary>
    public static string BackendConfig(string dir, string name, string ip) => $$"""
        # {{name}}: a static answer, the same for both proxies.
        worker_processes 1;
        daemon off;
        pid {{dir}}/{{name}}.pid;
        error_log stderr warn;
        events { worker_connections 4096; }
        http {
            access_log off;
            {{TempPaths(dir, name)}}
            keepalive_requests 1000000;
            keepalive_timeout 300s;
            server {
                listen {{ip}}:{{Topology.BackendPort}};
                location / { default_type text/plain; return 200 "ok\n"; }
            }
            server {
                listen {{ip}}:{{Topology.BackendStatusPort}};
                location / { stub_status; }
            }
        }
        """;

    /// <summary>
    /// The reverse proxy equivalent to the Ingress: <see cref="Topology.Host"/> on HTTP and on HTTPS with HTTP/2 to an
    /// upstream of both backends (round robin, kept-alive HTTP/1.1 connections), X-Forwarded-* set as the controller
    /// sets them; any other host gets 404 (the controller's default backend). One worker: the same CPU budget.
    /// </summary>
    public static string ProxyConfig(string dir, string name, int httpPort, int httpsPort, string certificate, string key) => $$"""
        # {{name}}: nginx as the reverse proxy the Ingress describes.
        worker_processes 1;
        daemon off;
        pid {{dir}}/{{name}}.pid;
        error_log stderr warn;
        events { worker_connections 4096; }
        http {
            access_log off;
            {{TempPaths(dir, name)}}
            keepalive_requests 1000000;
            keepalive_timeout 300s;
            # Debian's nginx 1.22 offers TLS 1.3 only when asked; Kestrel offers it by default.
            ssl_protocols TLSv1.2 TLSv1.3;
            ssl_certificate {{certificate}};
            ssl_certificate_key {{key}};
            upstream bench {
                server {{Topology.BackendIps[0]}}:{{Topology.BackendPort}};
                server {{Topology.BackendIps[1]}}:{{Topology.BackendPort}};
                keepalive 128;
                keepalive_requests 1000000;
            }
            server {
                listen 127.0.0.1:{{httpPort}} default_server;
                listen 127.0.0.1:{{httpsPort}} ssl http2 default_server;
                return 404;
            }
            server {
                listen 127.0.0.1:{{httpPort}};
                listen 127.0.0.1:{{httpsPort}} ssl http2;
                server_name {{Topology.Host}};
                location / {
                    proxy_pass http://bench;
                    proxy_http_version 1.1;
                    proxy_set_header Connection "";
                    proxy_set_header Host $host;
                    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
                    proxy_set_header X-Forwarded-Proto $scheme;
                    proxy_set_header X-Forwarded-Host $host;
                }
            }
        }
        """;

    // Debian's compiled-in temp paths are under /var/lib/nginx: the run keeps its own (nothing is buffered to disk here).
    private static string TempPaths(string dir, string name) =>
        string.Join("\n    ", new[] { "client_body", "proxy", "fastcgi", "uwsgi", "scgi" }.Select(t => $"{t}_temp_path {dir}/{name}-tmp/{t};"));
}
