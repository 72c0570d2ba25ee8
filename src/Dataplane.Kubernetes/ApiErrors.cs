using System.Net;
using System.Text.Json;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace Dataplane.Kubernetes;

/// <summary>
/// What KubernetesClient's exceptions mean to an informer. The client reports an API failure in two ways:
/// an HTTP error status on the request itself throws <see cref="HttpOperationException"/> (the response and its
/// body, a JSON <c>Status</c>, are on <c>Response</c>); a watch <c>ERROR</c> event, which the server sends with
/// status 200 and then ends the stream, is handed to the watch's <c>onError</c> callback as a
/// <see cref="KubernetesException"/> carrying the event's <see cref="V1Status"/>.
/// </summary>
public static class ApiErrors
{
    /// <summary>
    /// 410 Gone / reason Expired: the resource version (or a list's continue token) is older than the server's
    /// history, so the only way back is a fresh list.
    /// </summary>
    public static bool IsExpired(Exception ex) => ex switch
    {
        HttpOperationException http => http.Response?.StatusCode == HttpStatusCode.Gone,
        KubernetesException k8s => IsExpired(k8s.Status),
        _ => false,
    };

    public static bool IsExpired(V1Status? status) =>
        status is not null && (status.Code == (int)HttpStatusCode.Gone || status.Reason is "Expired" or "Gone");

    /// <summary>
    /// A watch that ended before sending a single line: KubernetesClient reads the first line before it returns the
    /// response, and on an empty body throws <see cref="EndOfStreamException"/> (wrapped by HttpClient). The server
    /// sends an empty body when the watch's timeout passes with nothing to report: a normal end.
    /// </summary>
    public static bool IsEmptyWatch(Exception ex)
    {
        for (Exception? e = ex; e is not null; e = e.InnerException)
        {
            if (e is EndOfStreamException)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The failure in one line, for status and logs: what the server said, or what the connection did.</summary>
    public static string Describe(Exception ex)
    {
        string text = ex switch
        {
            HttpOperationException http => DescribeHttp(http),
            KubernetesException k8s when k8s.Status is { } status =>
                $"watch error {status.Code} {status.Reason}: {status.Message}",
            _ => DescribeChain(ex),
        };
        return OneLine(text);
    }

    private static string DescribeHttp(HttpOperationException http)
    {
        HttpStatusCode? code = http.Response?.StatusCode;
        string head = code is { } c ? $"HTTP {(int)c} {c}" : "HTTP error";
        string? message = StatusMessage(http.Response?.Content);
        return message is null ? head : $"{head}: {message}";
    }

    // The API server's error bodies are Status objects; their message is the useful part.
    private static string? StatusMessage(string? body)
    {
        if (string.IsNullOrWhiteSpace(body))
        {
            return null;
        }

        try
        {
            return KubernetesJson.Deserialize<V1Status>(body)?.Message ?? body;
        }
        catch (JsonException)
        {
            return body;
        }
    }

    // HttpClient's messages sit at several depths ("An error occurred while sending the request." over
    // "Connection refused (127.0.0.1:6443)"); the innermost distinct ones say what happened.
    private static string DescribeChain(Exception ex)
    {
        var parts = new List<string>();
        for (Exception? e = ex; e is not null; e = e.InnerException)
        {
            if (!parts.Contains(e.Message))
            {
                parts.Add(e.Message);
            }
        }

        return string.Join(": ", parts);
    }

    private static string OneLine(string text)
    {
        string line = text.ReplaceLineEndings(" ").Trim();
        return line.Length <= 300 ? line : line[..300] + "...";
    }
}
