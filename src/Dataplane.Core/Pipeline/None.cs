namespace Dataplane.Pipeline;

/// <summary>
/// An enum with no members, for a stage that has no next stages, no drop reasons or no events
/// (<c>InterfaceOutput : Node&lt;None, None, None&gt;</c>).
/// </summary>
public enum None
{
}
