#!/bin/sh
# A node container's entrypoint (docker-compose.yml): node.sh CONFIG POD...
#
# The daemon owns eth0: it opens it with a raw socket and itself answers ARP, ICMP for the pods' gateway and the node
# ports on the node's address (192.168.77.10 on node-a). The node's own kernel gets that address from the daemon on
# its host port (node.hostPort: the TAP dp-host, 192.168.77.10/32, default route via 169.254.1.1 into the dataplane),
# so the kernel reaches pods, services and the outside through the dataplane, and the outside reaches its sockets
# (and the health check node port) the same way. What Docker gave eth0 goes: its /24 and default route would compete
# with the host port's (the daemon refuses to start beside a default route), and IPv6 on eth0 with it (router
# solicitations, DAD). eth0 keeps Docker's MAC, which is also the daemon's uplink MAC, so the kernel still takes the
# frames for 192.168.77.10 arriving there (its address lives on dp-host, and Linux accepts it on any interface) and
# would reset every node-port connection: the daemon sets eth0's rp_filter to strict (through eth0 the kernel has no
# route, so it drops them) and its arp_ignore, and puts both back when it stops (HostPortSameMacTests). The kernel does
# not forward (compose sets the sysctls) and holds no bridge and no rules.
set -eu
config=$1
shift
ip -4 addr flush dev eth0
sysctl -qw net.ipv6.conf.eth0.disable_ipv6=1 || echo "node.sh: could not disable IPv6 on eth0 (the daemon ignores its router solicitations)" >&2
dotnet /opt/dataplane/dataplane.dll run --config "$config" &
daemon=$!
# A server in each listed pod, answering with the pod's name and the peer it saw (the daemon makes the pods'
# namespaces, named as the pods, as it starts; the server waits for them).
servers=""
for pod in "$@"; do servers="$servers $pod@$pod"; done
server=""
if [ -n "$servers" ]; then
  # shellcheck disable=SC2086 # one argument per pod
  dotnet /opt/dataplane/dataplane.dll pod-server --port 8080 $servers &
  server=$!
fi
trap 'kill -TERM $server $daemon 2>/dev/null; wait $daemon; exit 0' TERM INT
wait $daemon
