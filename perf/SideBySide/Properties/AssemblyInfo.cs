// Everything measured and tested here drives Linux-only APIs (TAP, namespaces, AF_PACKET).
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
