namespace Dataplane.Conntrack;

/// <summary>
/// What <see cref="ConntrackTable.Restore"/> found in an earlier run's entries: flows published again, flows that
/// expired while no daemon ran, and entries refused (torn by a crash mid-write, implausible, or duplicates).
/// </summary>
public readonly record struct ConntrackRestore(int Restored, int Expired, int Invalid)
{
    public override string ToString() => $"{Restored} flow(s) restored, {Expired} expired meanwhile, {Invalid} refused";
}
