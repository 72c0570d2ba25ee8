using Dataplane.Fuzz;
using Dataplane.Fuzz.Targets;
using Dataplane.Tests.Infrastructure;

namespace Dataplane.Tests.Fuzz;

/// <summary>
/// Every file of tests/Dataplane.Fuzz/corpus/TARGET/ through its fuzz target, the same method afl-fuzz runs: the
/// seeds, and the inputs afl found (a crash once fixed stays here as its regression test). A target throws when
/// its invariant breaks (for the pipeline: a frame neither forwarded nor counted as a drop).
/// </summary>
[Trait("Category", "replay")]
public sealed class FuzzCorpusTests
{
    private static string CorpusDirectory => Repository.PathOf("tests", "Dataplane.Fuzz", "corpus");

    public static TheoryData<string, string> CorpusFiles()
    {
        var files = new TheoryData<string, string>();
        foreach (FuzzTarget target in FuzzTargets.All)
        {
            string directory = Path.Combine(CorpusDirectory, target.Name);
            if (!Directory.Exists(directory))
            {
                continue;
            }

            foreach (string file in Directory.EnumerateFiles(directory).Order(StringComparer.Ordinal))
            {
                files.Add(target.Name, Path.GetFileName(file));
            }
        }

        return files;
    }

    [Theory]
    [MemberData(nameof(CorpusFiles))]
    public void Corpus_input_keeps_its_targets_invariant(string target, string file)
    {
        byte[] input = File.ReadAllBytes(Path.Combine(CorpusDirectory, target, file));
        FuzzTargets.Find(target)!.Run(input);
    }

    [Fact]
    public void Every_target_has_seeds_and_every_corpus_folder_is_a_target()
    {
        foreach (FuzzTarget target in FuzzTargets.All)
        {
            string directory = Path.Combine(CorpusDirectory, target.Name);
            Assert.True(Directory.Exists(directory) && Directory.EnumerateFiles(directory, "seed-*").Any(), $"{directory} has no seed-* file");
        }

        foreach (string directory in Directory.EnumerateDirectories(CorpusDirectory))
        {
            Assert.NotNull(FuzzTargets.Find(Path.GetFileName(directory)));
        }
    }

    [Fact]
    public void Corpus_stays_small_enough_for_the_repository()
    {
        long bytes = Directory.EnumerateFiles(CorpusDirectory, "*", SearchOption.AllDirectories).Sum(static f => new FileInfo(f).Length);
        Assert.InRange(bytes, 1, 512 * 1024);
    }

    [Fact]
    public void Pipeline_input_splits_into_port_length_frame_records_and_the_last_takes_the_rest()
    {
        byte[] input = [1, 4, 0, 2, 0xAA, 0xBB, 7, 0, 9, 0xCC];

        Assert.Equal([(4, 4, 2), (7, 9, 1)], PipelineTarget.Split(input));
    }

    [Fact]
    public void Reused_pipeline_runner_meets_the_same_fates_as_fresh_dataplanes()
    {
        // afl runs inputs on dataplanes kept from input to input and reset in between; a reset that left state behind
        // would make afl's finds depend on what ran before them. The corpus runs twice on one runner, so each input
        // meets dataplanes that have seen all the others.
        string[] files = [.. Directory.EnumerateFiles(Path.Combine(CorpusDirectory, "pipeline")).Order(StringComparer.Ordinal)];
        var reused = new PipelineRunner(reuse: true);
        foreach (string file in files.Concat(files))
        {
            byte[] input = File.ReadAllBytes(file);
            List<string> fresh = new PipelineRunner(reuse: false).Run(input);
            Assert.True(fresh.SequenceEqual(reused.Run(input)), $"{Path.GetFileName(file)}: fresh dataplanes and reused ones disagree");
        }
    }
}
