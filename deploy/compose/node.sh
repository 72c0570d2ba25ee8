#!/bin/sh
# A node container's entrypoint (docker-compose.yml): node.sh CONFIG POD...
#
# The daemon owns eth0: it opens it with a raw socket and itself answers ARP, ICMP and the node ports on the node's
# address (192.168.77.10 on node-a). Docker also gave the container's kernel that address on eth0; left there, the
# kernel would answer ARP beside the daemon and reset every connection to a node port (it has no socket for them).
# So the address goes, and IPv6 on eth0 with it (router solicitations, DAD); the kernel keeps loopback only, does
# not forward (compose sets the sysctls), and holds no bridge and no rules: the dataplane does all of it.
# TODO(node.hostPort): once the daemon gives the node's own stack a TAP, this is where the kernel gets its address
# back on that TAP (and a default route through it), so the node itself can reach services and the outside.
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
