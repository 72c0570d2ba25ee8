using Dataplane.Kubernetes;
using Dataplane.Tests.Infrastructure;
using k8s;
using k8s.Models;

namespace Dataplane.Tests.Kubernetes;

/// <summary>
/// One informer running against a <see cref="FakeApiServer"/> for one test: its own client, a recording handler and
/// logger, and a deadline-bound <see cref="WaitUntil"/>. Disposing stops the informer and the client.
/// </summary>
internal sealed class InformerRun<T> : IAsyncDisposable
    where T : IKubernetesObject<V1ObjectMeta>
{
    private static readonly TimeSpan s_deadline = TimeSpan.FromSeconds(15);

    private readonly CancellationTokenSource _stop = new();
    private readonly IKubernetes _client;

    public InformerRun(FakeApiServer server, ApiResource resource, Func<IKubernetes, IListerWatcher<T>> source,
        InformerOptions options, RecordingHandler<T>? handler = null)
    {
        _client = server.CreateClient();
        Handler = handler ?? new RecordingHandler<T>();
        Informer = new ResourceInformer<T>(resource, source(_client), Handler, Logger, options);
        Run = Task.Run(() => Informer.RunAsync(_stop.Token));
    }

    public ResourceInformer<T> Informer { get; }

    public RecordingHandler<T> Handler { get; }

    public RecordingLogger Logger { get; } = new();

    public Task Run { get; }

    public InformerStatus Status => Informer.Status;

    public void WaitUntil(Func<bool> condition, string what) => Poll.Until(condition, s_deadline, what);

    public void WaitForSync() => WaitUntil(() => Informer.Status.HasSynced, $"{Informer.Resource.Resource} to sync");

    /// <summary>Cancels the informer and returns how long it took to return.</summary>
    public async Task<TimeSpan> StopAsync()
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        await _stop.CancelAsync();
        await Run.WaitAsync(s_deadline);
        return clock.Elapsed;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await StopAsync();
        }
        finally
        {
            _client.Dispose();
            _stop.Dispose();
        }
    }
}
