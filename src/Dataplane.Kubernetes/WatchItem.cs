using k8s;

namespace Dataplane.Kubernetes;

/// <summary>
/// One line of a watch stream: an event with its object, or, with <see cref="Error"/> set, a line KubernetesClient
/// reported instead of returning. A server ERROR event is a <see cref="KubernetesException"/> with the event's
/// Status; an undecodable line is whatever the deserializer threw.
/// </summary>
public readonly record struct WatchItem<T>(WatchEventType Type, T? Object, Exception? Error)
{
    public static WatchItem<T> Failed(Exception error) => new(WatchEventType.Error, default, error);
}
