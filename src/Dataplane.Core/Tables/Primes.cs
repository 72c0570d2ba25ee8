namespace Dataplane.Tables;

/// <summary>Prime sizes for Maglev tables (the permutation needs a prime size so every skip visits every slot).</summary>
public static class Primes
{
    /// <summary>Trial division by 6k +- 1: for the sizes we use (below ~10^7) that is at most ~1,000 divisions.</summary>
    public static bool IsPrime(int n)
    {
        if (n < 2)
        {
            return false;
        }

        if (n % 2 == 0 || n % 3 == 0)
        {
            return n < 4;
        }

        for (int d = 5; (long)d * d <= n; d += 6)
        {
            if (n % d == 0 || n % (d + 2) == 0)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The smallest prime &gt;= <paramref name="n"/> (prime gaps below 2^31 are under 300, so this is quick).</summary>
    public static int NextPrime(int n)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(n, 2_147_483_629); // the largest prime below 2^31
        int candidate = Math.Max(n, 2);
        while (!IsPrime(candidate))
        {
            candidate++;
        }

        return candidate;
    }
}
