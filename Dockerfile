# The dataplane's image: `dataplane` as the entrypoint, the CNI plugin in /opt/cni/bin (the demo's --cni-bin default)
# and the tools the demo and the compose cluster drive traffic with. Running it needs a privileged container (TAP
# devices and namespaces need CAP_NET_ADMIN and /dev/net/tun). See docker-compose.yml.
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
# gcc and liburing-dev build native/libdpuring.so for `dataplane.io: uring` (the build goes on without it);
# clang and zlib1g-dev publish the CNI plugin with NativeAOT.
RUN apt-get update && apt-get install -y --no-install-recommends gcc make libc6-dev liburing-dev clang zlib1g-dev \
    && rm -rf /var/lib/apt/lists/*
COPY . .
# ReadyToRun: a restarted daemon forwards again sooner when less is JIT-compiled at start (measured: 100 ms less to
# load a config and start a replay, 0.39 s -> 0.29 s).
RUN dotnet publish src/Dataplane.Cli -c Release -r linux-$(dpkg --print-architecture | sed 's/amd64/x64/') --self-contained false \
        -p:PublishReadyToRun=true -o /out \
    && dotnet publish src/Dataplane.Cni -c Release -o /out-cni

# aspnet, not runtime: the daemon serves /metrics, health checks and Ingress with Kestrel (Microsoft.AspNetCore.App).
FROM mcr.microsoft.com/dotnet/aspnet:10.0
# containernetworking-plugins: host-local, the demo's IPAM for its run-time pod; nftables: its kernel-untouched row.
RUN apt-get update && apt-get install -y --no-install-recommends libpcap0.8 liburing2 iproute2 iputils-ping netcat-openbsd curl \
        nftables procps containernetworking-plugins \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /out /opt/dataplane
COPY --from=build /out-cni/dataplane-cni /opt/cni/bin/dataplane-cni
ENTRYPOINT ["dotnet", "/opt/dataplane/dataplane.dll"]
CMD ["demo"]
