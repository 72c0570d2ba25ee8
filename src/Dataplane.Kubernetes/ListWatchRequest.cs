using k8s.Autorest;

namespace Dataplane.Kubernetes;

/// <summary>
/// The query of one list or watch request, the parameters KubernetesClient's generated <c>List*WithHttpMessagesAsync</c>
/// methods take for every resource; <see cref="ApiListCall{TList}"/> passes them to the one for a resource.
/// </summary>
public sealed record ListWatchRequest
{
    /// <summary><c>continue</c>: the previous page's token.</summary>
    public string? Continue { get; init; }

    /// <summary><c>limit</c>: the page size.</summary>
    public int? Limit { get; init; }

    /// <summary><c>watch=true</c>: a stream of changes instead of a list.</summary>
    public bool Watch { get; init; }

    /// <summary><c>resourceVersion</c>: for a watch, the version whose later changes to send.</summary>
    public string? ResourceVersion { get; init; }

    /// <summary><c>allowWatchBookmarks</c>: let the server send BOOKMARK events that only advance the version.</summary>
    public bool? AllowWatchBookmarks { get; init; }

    /// <summary><c>timeoutSeconds</c>: the server ends the watch after this long.</summary>
    public int? TimeoutSeconds { get; init; }
}

/// <summary>One resource's list operation in KubernetesClient, e.g. <c>CoreV1.ListServiceForAllNamespacesWithHttpMessagesAsync</c>.</summary>
public delegate Task<HttpOperationResponse<TList>> ApiListCall<TList>(ListWatchRequest request, CancellationToken cancel);
