namespace Dataplane.Config;

/// <summary>
/// Finds the valid key an unknown one was probably meant to be. Unknown keys are nearly always typos
/// (<c>podCIDR</c> for <c>podCidr</c>, <c>taregtPort</c>) and silently ignoring them would run a node on defaults.
/// </summary>
internal static class KeySuggester
{
    public static string? Suggest(string unknown, IReadOnlyList<string> validKeys)
    {
        foreach (string key in validKeys)
        {
            if (string.Equals(key, unknown, StringComparison.OrdinalIgnoreCase))
            {
                return key;
            }
        }

        // A third of the length keeps "ip" from suggesting "mtu" while still catching two slips in a long key.
        int budget = Math.Max(1, unknown.Length / 3);
        string? best = null;
        int bestDistance = int.MaxValue;
        foreach (string key in validKeys)
        {
            int distance = Distance(unknown.ToLowerInvariant(), key.ToLowerInvariant());
            if (distance <= budget && distance < bestDistance)
            {
                best = key;
                bestDistance = distance;
            }
        }

        return best;
    }

    /// <summary>Optimal string alignment distance: Levenshtein plus adjacent transpositions, the commonest typing slip.</summary>
    internal static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (int i = 0; i <= a.Length; i++)
        {
            d[i, 0] = i;
        }

        for (int j = 0; j <= b.Length; j++)
        {
            d[0, j] = j;
        }

        for (int i = 1; i <= a.Length; i++)
        {
            for (int j = 1; j <= b.Length; j++)
            {
                int cost = a[i - 1] == b[j - 1] ? 0 : 1;
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                {
                    d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
                }
            }
        }

        return d[a.Length, b.Length];
    }
}
