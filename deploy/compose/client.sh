#!/bin/sh
# The external client's entrypoint (docker-compose.yml): 198.51.100.10, routed through the router, asks the cluster
# from outside every 10 s and prints who answered and which client address the pod saw.
set -u
ip route replace default via 198.51.100.1
sleep 5
while :; do
  echo "--- $(date +%T)"
  echo "NodePort 30080 (Cluster) on node-a: pods on both nodes, each sees node-a (SNAT)"
  curl -sS -m 3 "http://192.168.77.10:30080/[1-6]"
  echo "NodePort 30081 (Local) on node-b: node-b's pods only, each sees 198.51.100.10"
  curl -sS -m 3 "http://192.168.77.11:30081/[1-4]"
  echo "LoadBalancer IP 192.168.77.100 (found by ARP, answered by a node)"
  curl -sS -m 3 "http://192.168.77.100/[1-4]"
  echo "web-local's health check node port 32000 on each node (node-a 503: no local pod; node-b 200)"
  curl -sS -m 3 -w ' %{http_code}\n' "http://192.168.77.10:32000/" "http://192.168.77.11:32000/"
  sleep 10
done
