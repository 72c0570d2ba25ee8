# Builds the dataplane and runs its demo in a privileged container (TAP devices and namespaces need
# CAP_NET_ADMIN and /dev/net/tun). See docker-compose.yml.
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
# gcc and liburing-dev build native/libdpuring.so for `dataplane.io: uring` (the build goes on without it).
RUN apt-get update && apt-get install -y --no-install-recommends gcc make libc6-dev liburing-dev \
    && rm -rf /var/lib/apt/lists/*
COPY . .
RUN dotnet publish src/Dataplane.Cli -c Release -o /out

FROM mcr.microsoft.com/dotnet/runtime:10.0
RUN apt-get update && apt-get install -y --no-install-recommends libpcap0.8 liburing2 iproute2 iputils-ping netcat-openbsd procps \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /out /opt/dataplane
ENTRYPOINT ["dotnet", "/opt/dataplane/dataplane.dll"]
CMD ["demo"]
