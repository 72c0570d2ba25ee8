#!/usr/bin/env bash
# Side by side on this machine, two pods and a ClusterIP:
#   dataplane  pods on TAPs behind `dataplane run` (Release build), offloads on and off
#   kernel     pods on veths in a Linux bridge in their own namespace, the VIP as an iptables DNAT rule
#              (br_netfilter on, as kubenet + kube-proxy have it: bridged replies are un-NATed by conntrack)
# and prints TCP Gbit/s pod to pod and pod to VIP (iperf3 -t DURATION) and 64-byte UDP packets/s pod to pod
# (iperf3 -u -l 64 -b 0, one sender thread): sent by the client, delivered to the server pod's eth0 (the
# forwarding rate), and read by the iperf3 server (often lower: its socket buffer overflows).
# Everything lives in namespaces named dpb-XXXXXX-* that this script creates and removes on exit. Root only.
# Usage: perf/e2e/tap-vs-kernel.sh   (DURATION=5 by default; DLL=path to a dataplane.dll to use another build)
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/as-root.sh

DURATION=${DURATION:-5}
DLL=${DLL:-src/Dataplane.Cli/bin/Release/net10.0/dataplane.dll}
if [ ! -f "$DLL" ]; then
  dotnet build src/Dataplane.Cli -c Release -v quiet -nologo >/dev/null
fi

id=dpb-$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
tmp=$(mktemp -d "/tmp/$id.XXXX")
namespaces=()
pids=()
daemon=

cleanup() {
  set +e
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
  if [ -n "$daemon" ] && kill -0 "$daemon" 2>/dev/null; then
    kill -TERM "$daemon"
    wait "$daemon"
  fi
  for ns in "${namespaces[@]}"; do
    [ -e "/var/run/netns/$ns" ] && ip netns del "$ns"
  done
  rm -rf "$tmp"
}
trap cleanup EXIT

add_ns() { ip netns add "$1"; namespaces+=("$1"); }
in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

# iperf3 server in namespace $1 on 5201, until cleanup.
start_server() {
  in_ns "$1" iperf3 -s -p 5201 >/dev/null 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do
    in_ns "$1" ss -Htln "sport = :5201" | grep -q . && return 0
    sleep 0.1
  done
  echo "iperf3 did not start in $1" >&2
  return 1
}

tcp_gbps() { # client-ns target port
  in_ns "$1" iperf3 -c "$2" -p "$3" -t "$DURATION" -J | jq -r '.end.sum_received.bits_per_second / 1e9 | . * 100 | round / 100'
}

rx_packets() { ip -n "$1" -j -s link show eth0 | jq '.[0].stats64.rx.packets'; }

# client-ns target server-ns -> "sent-pps delivered-pps app-received-pps": sent by iperf3, arrived on the
# server pod's eth0 (what the forwarding path delivered), and read by the iperf3 server (socket-limited).
udp64() {
  local before after
  before=$(rx_packets "$3")
  in_ns "$1" iperf3 -c "$2" -p 5201 -u -l 64 -b 0 -t "$DURATION" -J >"$tmp/udp.json"
  after=$(rx_packets "$3")
  jq -r --argjson delivered "$((after - before))" \
    '.end.sum as $s | [($s.packets / $s.seconds | round), ($delivered / $s.seconds | round), (($s.packets - $s.lost_packets) / $s.seconds | round)] | @tsv' "$tmp/udp.json"
}

measure() { # label client-ns server-ns server-ip vip
  local label=$1 client=$2 server=$3 ip=$4 vip=$5
  start_server "$server"
  local pod vip_rate udp
  pod=$(tcp_gbps "$client" "$ip" 5201)
  vip_rate=$(tcp_gbps "$client" "$vip" 80)
  udp=$(udp64 "$client" "$ip" "$server")
  read -r sent delivered app <<<"$udp"
  printf '%-24s %9s %9s %12s %12s %12s\n' "$label" "$pod" "$vip_rate" "$sent" "$delivered" "$app"
  echo "$label $pod $vip_rate $delivered" >>"$tmp/results"
  kill "${pids[-1]}" 2>/dev/null || true
  wait "${pids[-1]}" 2>/dev/null || true
}

run_dataplane() { # offloads true|false
  local offloads=$1 node="$id-n${1:0:1}" sock="$tmp/$1.sock"
  add_ns "$node"
  namespaces+=("$node-a" "$node-b") # created by the daemon, removed by it on SIGTERM (and by cleanup otherwise)
  cat >"$tmp/node-$1.yaml" <<EOF
node:
  name: $node
  podCidr: 10.244.1.0/24
  gatewayIp: 10.244.1.1
  mac: 02:00:00:00:01:01
pods:
  - { name: a, ip: 10.244.1.11, mac: 02:00:0a:f4:01:0b, netns: $node-a }
  - { name: b, ip: 10.244.1.12, mac: 02:00:0a:f4:01:0c, netns: $node-b }
services:
  - name: perf
    clusterIp: 10.96.0.10
    ports: [ { name: tcp, protocol: TCP, port: 80, targetPort: 5201 } ]
    endpoints: [ { ip: 10.244.1.12 } ]
conntrack:
  maxEntries: 65536
dataplane:
  controlSocket: $sock
  offloads: $offloads
EOF
  dotnet "$DLL" run --config "$tmp/node-$1.yaml" --netns "$node" >"$tmp/daemon-$1.log" 2>&1 &
  daemon=$!
  for _ in $(seq 300); do
    dotnet "$DLL" ctl --socket "$sock" status >/dev/null 2>&1 && break
    kill -0 "$daemon" 2>/dev/null || { cat "$tmp/daemon-$1.log" >&2; exit 1; }
    sleep 0.2
  done
  in_ns "$node-a" ping -c 1 -W 2 10.244.1.12 >/dev/null
  measure "dataplane offloads=$1" "$node-a" "$node-b" 10.244.1.12 10.96.0.10
  kill -TERM "$daemon"
  wait "$daemon"
  daemon=
}

run_kernel() {
  local k="$id-k"
  add_ns "$k"
  ip -n "$k" link add br0 type bridge
  ip -n "$k" addr add 10.244.1.1/24 dev br0
  ip -n "$k" link set br0 up
  in_ns "$k" sysctl -qw net.ipv4.ip_forward=1
  in_ns "$k" sysctl -qw net.bridge.bridge-nf-call-iptables=1
  local n=11
  for p in a b; do
    add_ns "$k$p"
    ip -n "$k" link add "v$p" type veth peer name eth0 netns "$k$p"
    ip -n "$k" link set "v$p" master br0 up
    ip -n "$k$p" link set lo up
    ip -n "$k$p" addr add "10.244.1.$n/24" dev eth0
    ip -n "$k$p" link set eth0 up
    ip -n "$k$p" route add default via 10.244.1.1
    n=$((n + 1))
  done
  in_ns "$k" iptables -t nat -A PREROUTING -d 10.96.0.10/32 -p tcp --dport 80 -j DNAT --to-destination 10.244.1.12:5201
  in_ns "${k}a" ping -c 1 -W 2 10.244.1.12 >/dev/null
  measure "kernel bridge+iptables" "${k}a" "${k}b" 10.244.1.12 10.96.0.10
}

echo "$(nproc) cores, $(uname -r), iperf3 -t $DURATION, dataplane: $DLL"
printf '%-24s %9s %9s %12s %12s %12s\n' "path" "pod Gb/s" "VIP Gb/s" "UDP64 sent" "delivered" "app read"
run_dataplane true
run_dataplane false
run_kernel

# Ratios against the kernel path.
awk '
  /^kernel/ { kp = $3; kv = $4; ku = $5 }
  /^dataplane/ { label[++n] = $1 " " $2; p[n] = $3; v[n] = $4; u[n] = $5 }
  END {
    for (i = 1; i <= n; i++)
      printf "%-24s pod %5.1f%%  VIP %5.1f%%  UDP64 delivered %5.1f%% of the kernel path\n", label[i], 100 * p[i] / kp, 100 * v[i] / kv, 100 * u[i] / ku
  }' "$tmp/results"
