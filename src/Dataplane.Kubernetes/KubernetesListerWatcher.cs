using System.Runtime.CompilerServices;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace Dataplane.Kubernetes;

/// <summary>
/// Lists and watches one resource through KubernetesClient's generated list operation (<see cref="ApiListCall{TList}"/>)
/// and its watch reader (<c>WatchAsync&lt;T, TList&gt;</c>): no HTTP of our own.
/// </summary>
public sealed class KubernetesListerWatcher<T, TList> : IListerWatcher<T>
    where T : IKubernetesObject<V1ObjectMeta>
    where TList : IKubernetesObject<V1ListMeta>, IItems<T>
{
    private readonly ApiListCall<TList> _call;

    public KubernetesListerWatcher(ApiListCall<TList> call)
    {
        _call = call;
    }

    public async Task<ListPage<T>> ListAsync(string? continueToken, int limit, CancellationToken cancel)
    {
        using HttpOperationResponse<TList> response = await _call(new ListWatchRequest { Continue = continueToken, Limit = limit }, cancel)
            .ConfigureAwait(false);
        TList list = response.Body;
        return new ListPage<T>([.. list.Items ?? []], list.Metadata?.ResourceVersion, list.Metadata?.ContinueProperty);
    }

    public async IAsyncEnumerable<WatchItem<T>> WatchAsync(string resourceVersion, int timeoutSeconds,
        [EnumeratorCancellation] CancellationToken cancel)
    {
        var request = new ListWatchRequest
        {
            Watch = true,
            ResourceVersion = resourceVersion,
            AllowWatchBookmarks = true,
            TimeoutSeconds = timeoutSeconds,
        };

        // The call returns once the first line has arrived (KubernetesClient peeks it), so this await lasts until
        // the first event, bookmark or ERROR, or until the server ends an idle watch.
        HttpOperationResponse<TList>? response = null;
        try
        {
            response = await _call(request, cancel).ConfigureAwait(false);
        }
        catch (Exception ex) when (ApiErrors.IsEmptyWatch(ex))
        {
            // Ended without a line: timeoutSeconds passed and nothing changed.
        }

        if (response is null)
        {
            yield break;
        }

        using (response)
        using (var endOnError = CancellationTokenSource.CreateLinkedTokenSource(cancel))
        {
            // The reader calls onError for an ERROR event or an undecodable line and reads on. The errors are queued
            // here and handed out before the next event, so they keep their place in the stream. An ERROR event
            // also ends the watch here, as in client-go, instead of waiting for the server to close the stream.
            var errors = new Queue<Exception>();
            void OnError(Exception error)
            {
                errors.Enqueue(error);
                if (error is KubernetesException { Status: not null })
                {
                    endOnError.Cancel();
                }
            }

#pragma warning disable CS0618 // Obsolete in favour of the generated Watch*Async methods, which call exactly this; the
                               // informer needs it for any resource, and holds the response to dispose it on stop.
            IAsyncEnumerable<(WatchEventType, T)> events = Task.FromResult(response).WatchAsync<T, TList>(OnError, endOnError.Token);
#pragma warning restore CS0618
            await using IAsyncEnumerator<(WatchEventType Type, T Object)> reader = events.GetAsyncEnumerator(endOnError.Token);
            while (true)
            {
                bool more;
                try
                {
                    more = await reader.MoveNextAsync().ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (endOnError.IsCancellationRequested && !cancel.IsCancellationRequested)
                {
                    more = false;
                }

                while (errors.TryDequeue(out Exception? error))
                {
                    yield return WatchItem<T>.Failed(error);
                }

                if (!more)
                {
                    yield break;
                }

                yield return new WatchItem<T>(reader.Current.Type, reader.Current.Object, null);
            }
        }
    }
}
