namespace Dataplane.Tables;

/// <summary>
/// What a route insert did. Failures are values, not exceptions: the control plane counts them per reason
/// (a full table is an operator-visible condition, not a bug) and keeps going.
/// </summary>
public enum FibResult
{
    /// <summary>A new prefix was added.</summary>
    Added,

    /// <summary>The prefix was already present; its next hop was overwritten.</summary>
    Replaced,

    /// <summary>
    /// No free tbl8 group (IPv4) or trie node (IPv6) for a prefix that needs one. Nothing changed. Groups
    /// freed by deletes come back only after <c>ReclaimRetired</c> (they may still be under a reader).
    /// </summary>
    Full,

    /// <summary>Length out of range for the family, or host bits set below the length. Nothing changed.</summary>
    InvalidPrefix,

    /// <summary>Next hop negative or above the table's <c>MaxNextHop</c>. Nothing changed.</summary>
    InvalidNextHop,
}
