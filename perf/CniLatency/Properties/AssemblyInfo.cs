// Namespaces, TAPs and CNI plugins: Linux only.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
