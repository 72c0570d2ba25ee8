using Dataplane.Fuzz;
using SharpFuzz;

// `Dataplane.Fuzz TARGET`: runs the target under SharpFuzz's afl fork server (persistent: one process, many inputs).
// `Dataplane.Fuzz TARGET FILE...`: runs the target once per file and says which ones fail (reproducing afl's crashes).
if (args.Length == 0 || FuzzTargets.Find(args[0]) is not { } target)
{
    Console.Error.WriteLine("usage: Dataplane.Fuzz TARGET [FILE...]");
    foreach (FuzzTarget t in FuzzTargets.All)
    {
        Console.Error.WriteLine($"  {t.Name,-9} {t.Description}");
    }

    return 2;
}

if (args.Length == 1)
{
    // Made inside the loop: instrumented code may only run once SharpFuzz has mapped afl's coverage memory.
    Action<byte[]>? run = null;
    Fuzzer.Run(stream =>
    {
        using var input = new MemoryStream();
        stream.CopyTo(input);
        run ??= target.MakeFuzzLoop?.Invoke() ?? target.Run;
        run(input.ToArray());
    });
    return 0;
}

int failed = 0;
foreach (string file in args[1..])
{
    try
    {
        target.Run(File.ReadAllBytes(file));
        Console.WriteLine($"ok    {file}");
    }
    catch (Exception e)
    {
        failed++;
        Console.WriteLine($"FAIL  {file}: {e}");
    }
}

return failed == 0 ? 0 : 1;
