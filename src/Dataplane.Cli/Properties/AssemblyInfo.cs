// The dataplane drives Linux TAP devices, namespaces and AF_PACKET sockets; it runs nowhere else.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
