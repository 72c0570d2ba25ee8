namespace Dataplane.Tables;

/// <summary>
/// The weighted round-robin order of a service port, computed once per snapshot so a pick is one interlocked
/// increment and one load (smooth weighted round robin as nginx does it needs a lock per pick).
/// Stride scheduling: backend i's k-th turn falls at virtual time (k + 1/2) / w_i; sorting the first sum(w) turns
/// gives every backend exactly w_i places per cycle, spread out (weights 1,2,1 give B A C B), not bunched (A B B C).
/// </summary>
internal static class RoundRobinSequence
{
    /// <summary>Longest cycle: weights are divided by their gcd, then scaled down (keeping each &gt;= 1) to fit.</summary>
    public const int MaxLength = 1 << 16;

    /// <summary>Backend indices (into <paramref name="backends"/>) of one cycle over the <paramref name="eligible"/> backends.</summary>
    public static int[] Build(ReadOnlySpan<Backend> backends, ReadOnlySpan<int> eligible)
    {
        int n = eligible.Length;
        if (n == 0)
        {
            return [];
        }

        var weights = new long[n];
        long gcd = 0;
        for (int k = 0; k < n; k++)
        {
            weights[k] = backends[eligible[k]].Weight;
            gcd = Gcd(gcd, weights[k]);
        }

        long total = 0;
        for (int k = 0; k < n; k++)
        {
            weights[k] /= gcd;
            total += weights[k];
        }

        if (total > MaxLength)
        {
            long scaled = 0;
            for (int k = 0; k < n; k++)
            {
                weights[k] = Math.Max(1, weights[k] * (MaxLength - n) / total);
                scaled += weights[k];
            }

            total = scaled;
        }

        if (total == n)
        {
            return eligible.ToArray(); // all weights equal: plain rotation
        }

        var turns = new (int Backend, long Turn)[total];
        int t = 0;
        for (int k = 0; k < n; k++)
        {
            for (long j = 0; j < weights[k]; j++)
            {
                turns[t++] = (k, j);
            }
        }

        // Compare (2j + 1) / (2 w_a) with (2m + 1) / (2 w_b) exactly: (2j + 1) w_b vs (2m + 1) w_a; ties by position.
        Array.Sort(turns, (a, b) =>
        {
            int c = ((2 * a.Turn + 1) * weights[b.Backend]).CompareTo((2 * b.Turn + 1) * weights[a.Backend]);
            return c != 0 ? c : a.Backend.CompareTo(b.Backend);
        });

        var sequence = new int[total];
        for (int i = 0; i < sequence.Length; i++)
        {
            sequence[i] = eligible[turns[i].Backend];
        }

        return sequence;
    }

    private static long Gcd(long a, long b)
    {
        while (b != 0)
        {
            (a, b) = (b, a % b);
        }

        return a;
    }
}
