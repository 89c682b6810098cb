# Kernel refusals: hook restrictions through jumps, table restrictions, jump depth and loops, and how a batch reports them.
# needs: REJECT DNAT MASQUERADE LOG tcp
iptables -t mangle -N U
iptables -t mangle -A U -j REJECT
iptables -t mangle -A INPUT -j U
iptables -t mangle -A PREROUTING -j U
iptables -t mangle -A PREROUTING -j REJECT
iptables -t mangle -S
iptables -A INPUT -j DNAT --to-destination 1.2.3.4
iptables -N D
iptables -A D -j DNAT --to-destination 1.2.3.4
iptables -t nat -N N
iptables -t nat -A N -j MASQUERADE
iptables -t nat -A PREROUTING -j N
iptables -t nat -A POSTROUTING -j N
iptables -t nat -A PREROUTING -j MASQUERADE
iptables -N c1
iptables -N c2
iptables -N c3
iptables -N c4
iptables -N c5
iptables -N c6
iptables -N c7
iptables -N c8
iptables -N c9
iptables -N c10
iptables -N c11
iptables -N c12
iptables -N c13
iptables -N c14
iptables -N c15
iptables -N c16
iptables -A c1 -j c2
iptables -A c2 -j c3
iptables -A c3 -j c4
iptables -A c4 -j c5
iptables -A c5 -j c6
iptables -A c6 -j c7
iptables -A c7 -j c8
iptables -A c8 -j c9
iptables -A c9 -j c10
iptables -A c10 -j c11
iptables -A c11 -j c12
iptables -A c12 -j c13
iptables -A c13 -j c14
iptables -A c14 -j c15
iptables -A INPUT -j c1
iptables -A c15 -j c16
iptables -D c14 -j c15
iptables -A c15 -j c16
iptables -A c14 -g c15
iptables -F c15
iptables -A c14 -g c15
iptables -N L1
iptables -N L2
iptables -A L1 -j L2
iptables -A L2 -g L1
iptables -A OUTPUT -j L2
iptables -L L1
iptables-restore --noflush <<EOF
*filter
-A OUTPUT -j L1
-A OUTPUT -j ACCEPT
-A OUTPUT -j L2
COMMIT
EOF
iptables-restore --noflush <<EOF
*filter
-A OUTPUT -j L1
-A OUTPUT -j NOPE
COMMIT
EOF
iptables-restore --noflush <<EOF
*filter
-A OUTPUT -j L1
-X c16
COMMIT
EOF
iptables-restore --noflush <<EOF
*mangle
-A PREROUTING -j REJECT
-A PREROUTING -j U
COMMIT
*nat
-A PREROUTING -j N
COMMIT
EOF
iptables-save
