# iptables-restore: chain lines (order of checks, counters, repeated and built-in names), commands inside a block, --test.
# needs: tcp
iptables-restore --noflush <<EOF
*filter
:ACCEPT
COMMIT
EOF
iptables-restore --noflush <<EOF
*filter
:INPUT
COMMIT
EOF
iptables-restore --noflush <<EOF
*filter
:-x
COMMIT
EOF
iptables-restore -c <<EOF
*filter
:INPUT DROP [1:2]
:FORWARD DROP [3:4]
-A INPUT -j ACCEPT
COMMIT
EOF
iptables-save
iptables-save -c
iptables -L -v
iptables -S -v
iptables-restore -c --noflush <<EOF
*filter
:INPUT - [9:9]
COMMIT
EOF
iptables-save -c
iptables-restore -c --noflush <<EOF
*filter
:INPUT ACCEPT
COMMIT
EOF
iptables-restore <<EOF
*filter
:FOO - [0:0]
:FOO - [0:0]
-A FOO -j ACCEPT
:FOO - [0:0]
COMMIT
EOF
iptables -S FOO
iptables-restore <<EOF
*filter
-N FOO
:FOO - [0:0]
COMMIT
EOF
iptables-restore <<EOF
*filter
:FOO - [0:0]
-N FOO
COMMIT
EOF
iptables-restore <<EOF
*filter
:INPUT DROP [0:0]
:INPUT ACCEPT [0:0]
COMMIT
EOF
iptables -S INPUT
iptables-restore <<EOF
*filter
:OUTPUT DROP [0:0]
-P OUTPUT ACCEPT
-A OUTPUT -j ACCEPT
-D OUTPUT 1
-I OUTPUT -j DROP
-R OUTPUT 1 -j ACCEPT
-Z
-E FOO BAR
COMMIT
EOF
iptables-save
iptables-restore <<EOF
*nat
-A INPUT -j DROP
COMMIT
EOF
iptables-restore <<EOF
*nat
:INPUT DROP [0:0]
COMMIT
EOF
iptables-restore <<EOF
*raw
-A INPUT -j ACCEPT
COMMIT
EOF
iptables-restore <<EOF
*raw
:INPUT ACCEPT [0:0]
COMMIT
EOF
iptables-save -t raw
iptables-restore <<EOF
*filter
-A INPUT -p tcp --dport 22 -j ACCEPT
-A INPUT -p tcp --dport 23 -j ACCEPT
COMMIT
EOF
iptables-restore --noflush <<EOF
*filter
-D INPUT -p tcp --dport 22 -j ACCEPT
-C INPUT -p tcp --dport 23 -j ACCEPT
-C INPUT -p tcp --dport 24 -j ACCEPT
COMMIT
EOF
iptables -S
iptables-restore -T filter -T nat <<EOF
*filter
-A INPUT -j ACCEPT
COMMIT
EOF
iptables-restore -t <<EOF
*filter
-A INPUT -j ACCEPT
EOF
iptables-restore -t <<EOF
*filter
-A INPUT -j ACCEPT
COMMIT
*nat
-A BOGUS
EOF
iptables-restore -t <<EOF
*filter
-A INPUT -x
COMMIT
EOF
