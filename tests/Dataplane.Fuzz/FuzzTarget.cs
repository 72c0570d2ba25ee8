namespace Dataplane.Fuzz;

/// <summary>
/// One thing to fuzz: <see cref="Run"/> takes any bytes and returns normally, or throws when it found a bug (an
/// exception the code under test should never let out, or a broken <see cref="FuzzInvariantException">invariant</see>).
/// afl-fuzz sees the exception as a crash; the corpus tests call the same method on every file of
/// corpus/<see cref="Name"/>/.
/// </summary>
public sealed record FuzzTarget(string Name, string Description, Action<byte[]> Run);
