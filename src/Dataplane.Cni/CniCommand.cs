namespace Dataplane.Cni;

/// <summary>The operations of SPEC.md section 2, as CNI_COMMAND names them.</summary>
internal enum CniCommand
{
    Add,
    Del,
    Check,
    Version,
    Status,
    Gc,
}
