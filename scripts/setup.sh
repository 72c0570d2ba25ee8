#!/usr/bin/env bash
# Installs what the dataplane and its tests need on Debian (bookworm or later), idempotently:
#   libpcap0.8            SharpPcap's native library (pcap files)
#   iproute2, iputils-ping, iperf3, netcat-openbsd, curl   peers in the end-to-end tests
#   tshark                checksum checks and capture reading in tests
#   tcpdump               a user's own `tcpdump -i any` capture, replayed in a test
#   nftables              the node-namespace-untouched check (nft list ruleset)
#   iptables              only for the kernel-baseline side of the side-by-side benchmarks
#   netsniff-ng, sockperf trafgen (the 64-byte packet blaster) and the latency ping-pong of the benchmarks
#   gcc, make, libc6-dev  native/ (tapcopy, connrate)
#   liburing-dev          native/libdpuring.so, the io_uring shim of `dataplane: { io: uring }` (runs on liburing2)
#   prometheus            the metrics tests scrape /metrics with it and lint it with promtool
#   golang-go, golang-github-appc-cni-dev   tests/cni-driver, the libcni driver (built offline in GOPATH mode)
#   containernetworking-plugins             bridge, host-local, tuning: the CNI baseline, the plugin's IPAM and the plugins chained with ours
#   podman, runc, conmon  a real runtime on a CNI network in the tests (podman 4 with its CNI backend)
#   busybox-static        the one binary of the offline image those containers run
#   clang, zlib1g-dev     NativeAOT publishing of the CNI plugin (dotnet publish src/Dataplane.Cni)
#   docker-compose        checks docker-compose.yml (`docker-compose config`, ComposeTests); needs no Docker engine
#   afl++                 scripts/fuzz.sh and the fuzz smoke test (with the SharpFuzz.CommandLine .NET tool, installed last)
# and checks for the .NET 10 SDK.
set -euo pipefail

packages=(libpcap0.8 nftables iproute2 iputils-ping iperf3 netcat-openbsd curl openssl tshark tcpdump iptables netsniff-ng sockperf gcc make libc6-dev liburing-dev procps prometheus
  golang-go golang-github-appc-cni-dev containernetworking-plugins podman runc conmon busybox-static clang zlib1g-dev docker-compose afl++)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # tshark asks whether non-root users may capture; the answer does not matter here.
  echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
  apt-get update -qq
  # These are tools for the tests, not services: on a real node, prometheus' package would otherwise start a
  # server on :9090. policy-rc.d forbids starting services during the install (unless the host has its own).
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  if [[ " ${missing[*]} " == *" prometheus "* && -d /run/systemd/system ]]; then
    systemctl disable -q prometheus || true
  fi
fi

if ! command -v dotnet >/dev/null || ! dotnet --list-sdks | grep -q '^10\.'; then
  echo "setup: the .NET 10 SDK is required (https://learn.microsoft.com/dotnet/core/install/linux-debian)" >&2
  exit 1
fi

# The instrumenter scripts/fuzz.sh runs on the dataplane's assemblies before afl-fuzz (a global tool: ~/.dotnet/tools).
if [[ ! -x "$HOME/.dotnet/tools/sharpfuzz" ]]; then
  echo "setup: installing the SharpFuzz.CommandLine tool"
  dotnet tool install --global SharpFuzz.CommandLine --version 2.3.0 >/dev/null
fi
