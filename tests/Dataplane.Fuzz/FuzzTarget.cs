namespace Dataplane.Fuzz;

/// <summary>
/// One thing to fuzz: <see cref="Run"/> takes any bytes and returns normally, or throws when it found a bug (an
/// exception the code under test should never let out, or a broken <see cref="FuzzInvariantException">invariant</see>).
/// afl-fuzz sees the exception as a crash; the corpus tests call the same method on every file of
/// corpus/<see cref="Name"/>/. <see cref="MakeFuzzLoop"/>, when set, gives what afl runs instead: the same checks on
/// state kept from one input to the next, for a target whose setup costs far more than an input.
/// </summary>
public sealed record FuzzTarget(string Name, string Description, Action<byte[]> Run, Func<Action<byte[]>>? MakeFuzzLoop = null);
