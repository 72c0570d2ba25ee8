// The targets drive the dataplane's Linux-only assemblies (the replay engine lives in Dataplane.Host), as afl-fuzz runs on Linux.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
