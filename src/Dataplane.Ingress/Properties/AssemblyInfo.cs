// Unix sockets for the control endpoint and the Kubernetes node it runs on: Linux only, as the rest of the dataplane.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
