# kube-proxy's TestTracePacket rules on a node, tried with the lab's tools.
#   iptplay lab --trace tests/labs/kube-node.json tests/labs/kube-node.sh
node$ iptables-restore < ../../../../shared/data/corpus/kube-proxy-02-tracepacket-full.rules
# 10.0.0.2 -> 172.30.0.41:80: DNAT to 10.180.0.1, no masquerade
pod$ curl -s http://172.30.0.41/
# 10.0.0.2 -> 172.30.0.44:80: either 10.180.0.4 or 10.180.0.5
curl -s http://172.30.0.44/
# 10.0.0.2 -> 172.30.0.46:80: REJECT (no endpoints)
curl -sS http://172.30.0.46/
# 10.0.0.2 -> 10.0.0.3:80: pod to pod on one link, the node is not on the way
curl -s http://10.0.0.3/
# the node itself -> 192.168.99.22:80: DNAT to 10.180.0.2 and masquerade
node$ curl -s http://192.168.99.22/
# the node's health check node port: ACCEPT
nc -zv 192.168.0.2 30000
# 203.0.113.2 -> 192.168.99.22:80: DROP (no local endpoints)
client$ curl -sS -m 2 http://192.168.99.22/
node$ conntrack -L
