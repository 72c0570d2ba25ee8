// The daemon's pieces it links (Dataplane.Host) are Linux-only.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
