# iptables-restore: flush semantics, errors with line numbers, per-COMMIT atomicity, options.
iptables-restore <<EOF
*filter
:INPUT DROP [5:6]
-A INPUT -j ACCEPT
COMMIT
EOF
iptables-save -c
iptables-restore -c <<EOF
*filter
:INPUT ACCEPT [5:6]
[1:2] -A INPUT -j ACCEPT
COMMIT
EOF
iptables-save -c
iptables-restore <<EOF
*filter
:FOO - [0:0]
-A FOO -j ACCEPT
COMMIT
EOF
iptables-save
iptables-restore <<EOF
*nat
:BAR - [0:0]
COMMIT
*filter
-A INPUT -j DROP
COMMIT
EOF
iptables-save
iptables-restore <<EOF
*nat
:BAR2 - [0:0]
COMMIT
*filter
-A INPUT -j NOPE
COMMIT
EOF
iptables-save
iptables-restore <<EOF
*filter
-A INPUT -j DROP
EOF
iptables-restore <<EOF
*filter
-A INPUT -j DROP
COMMIT
foo
EOF
iptables-restore <<EOF
*nosuch
COMMIT
EOF
iptables-restore <<EOF
:FOO - [0:0]
EOF
iptables-restore <<EOF
-A INPUT -j DROP
EOF
iptables-restore <<EOF
*filter
:FOO
COMMIT
EOF
iptables-restore <<EOF
*filter
:INPUT BLAH [0:0]
COMMIT
EOF
iptables-restore <<EOF
*filter
:INPUT - [0:0]
COMMIT
EOF
iptables-restore <<EOF
*filter
:FOO ACCEPT [0:0]
COMMIT
EOF
iptables-save
iptables-restore <<EOF
*filter
:INPUT DROP
COMMIT
EOF
iptables-restore <<EOF
*filter
:INPUT DROP [1:2
COMMIT
EOF
iptables-restore -c <<EOF
*filter
:INPUT DROP [a:b]
COMMIT
EOF
iptables-restore -c <<EOF
*filter
[1:2 -A INPUT
COMMIT
EOF
iptables-restore -c <<EOF
*filter
[1 -A INPUT
COMMIT
EOF
iptables-restore -c <<EOF
*filter
[a:b] -A INPUT
COMMIT
EOF
iptables-restore <<EOF
*filter
[1:2] -A INPUT
COMMIT
EOF
iptables-save -c
iptables-restore <<EOF
*filter
-A INPUT -t nat -j ACCEPT
COMMIT
EOF
iptables-restore <<EOF
*filter
-A INPUT -w -j ACCEPT
COMMIT
EOF
iptables-restore <<EOF
*filter
-A INPUT -W 1 -j ACCEPT
COMMIT
EOF
iptables-restore <<EOF
*filter
-A INPUT -s 1.2.3.4/99 -j ACCEPT
COMMIT
EOF
iptables-restore <<EOF
*filter
-A INPUT -j NOPE
COMMIT
EOF
iptables-restore <<EOF
*filter
-A NOPE -j ACCEPT
COMMIT
EOF
iptables-restore <<EOF
*filter
-A INPUT foo
COMMIT
EOF
iptables-restore <<EOF
*filter
-L
COMMIT
EOF
iptables-restore <<EOF
*filter
-S
COMMIT
EOF
iptables-restore --noflush <<EOF
*filter
-X FOO
-N FOO2
-E FOO2 FOO3
-P INPUT DROP
-I INPUT -j ACCEPT
-R INPUT 1 -j DROP
COMMIT
EOF
iptables-save
iptables -A INPUT -j ACCEPT
iptables-restore <<EOF
*filter
COMMIT
EOF
iptables-save
iptables-restore <<EOF
*filter
-A INPUT -j FOO
:FOO - [0:0]
COMMIT
EOF
iptables-save
iptables-restore <<EOF
*filter
:FOO - [0:0]
-A INPUT -j FOO
-A FOO -j FOO2
:FOO2 - [0:0]
COMMIT
EOF
iptables-restore <<EOF
*filter
:FOO - [0:0]
-A INPUT -j FOO
-A FOO -j ACCEPT
-A NOPE -j ACCEPT
COMMIT
EOF
iptables-restore <<EOF
*filter
:FOO - [0:0]
-A INPUT -j FOO
-A FOO -j ACCEPT
-D FOO -j DROP
COMMIT
EOF
iptables-restore <<EOF
*filter
:FOO - [0:0]
-A INPUT -j FOO
-A FOO -j FOO
COMMIT
EOF
iptables-restore <<EOF
*filter
:INPUT DROP [0:0]
:FOO - [0:0]
-A INPUT -j FOO
COMMIT
EOF
iptables-restore --noflush <<EOF
*filter
:INPUT - [0:0]
COMMIT
EOF
iptables-restore --noflush <<EOF
*filter
:FOO - [0:0]
COMMIT
EOF
iptables-save
iptables-restore --noflush <<EOF
*filter
:OUTPUT - [0:0]
COMMIT
EOF
iptables-restore --noflush <<EOF
*filter
:BAR - [0:0]
-A BAR -j ACCEPT
COMMIT
EOF
iptables-restore --noflush <<EOF
*filter
:BAR - [0:0]
COMMIT
EOF
iptables-save
iptables-restore --noflush <<EOF
*filter
-N BAR
COMMIT
EOF
iptables-restore --noflush <<EOF
*filter
-N BAZ
-A BAZ -j ACCEPT
-E BAZ QUX
-I QUX 2 -j DROP
COMMIT
EOF
iptables-save
iptables-restore --noflush <<EOF
*filter
-F
-X
COMMIT
EOF
iptables-save
iptables-restore <<EOF
*filter
-A INPUT -j ACCEPT
COMMIT
*filter
-A INPUT -j DROP
COMMIT
EOF
iptables-save
iptables-restore <<EOF
*filter
-A INPUT -j ACCEPT
*nat
COMMIT
EOF
iptables-restore -T nat <<EOF
*filter
-A INPUT -j ACCEPT
COMMIT
*filter
-A INPUT -j DROP
COMMIT
EOF
iptables-save
iptables-restore -T nat <<EOF
*filter
-A INPUT -j ACCEPT
COMMIT
*nat
-A INPUT -j ACCEPT
COMMIT
EOF
iptables-save
iptables-restore --test <<EOF
*filter
-A INPUT -j REJECTX
COMMIT
EOF
iptables-restore --test <<EOF
*filter
-A INPUT -j DROP
COMMIT
EOF
iptables-restore -t <<EOF
*filter
-A INPUT -j DROP
COMMIT
EOF
iptables-restore -v <<EOF
*filter
-A INPUT -j DROP -s 1.2.3.4
-A INPUT -p tcp
COMMIT
EOF
iptables-restore --verbose --noflush <<EOF
*filter
-A INPUT -j DROP -s 1.2.3.4
-A INPUT -p tcp
COMMIT
EOF
iptables-restore -vt <<EOF
*filter
-A INPUT -j DROP -s 1.2.3.4
-A INPUT -p tcp
COMMIT
EOF
iptables-restore -h
iptables-restore --foo
iptables-restore -x
iptables-restore /nonexistent
iptables-restore a b
iptables-restore -T
iptables-restore -M
iptables-restore -w
iptables-restore -w 3 < /dev/null
iptables-restore -W 3 < /dev/null
iptables-restore -T foo < /dev/null
iptables-restore -T foo <<EOF
*filter
COMMIT
EOF
iptables -N A
iptables -N B
iptables -N C
iptables -A A -j ACCEPT
iptables -A B -j ACCEPT
iptables -X
iptables -A INPUT -j C
iptables -A C -j ACCEPT
iptables -X
iptables -t mangle -N X
iptables -t mangle -A X -j X
iptables -t mangle -N Y
iptables -t mangle -A Y -j Y
iptables-restore --noflush <<EOF
*mangle
-A PREROUTING -j X
-A PREROUTING -j Y
COMMIT
EOF
iptables-restore --noflush <<EOF
*mangle
-A PREROUTING -j X
-A PREROUTING -j QUEUE
COMMIT
EOF
iptables -N X
iptables -A X -j X
iptables -A INPUT -s 1.1.1.1,2.2.2.2 -j X
iptables -A INPUT -j QUEUE -s 1.1.1.1,2.2.2.2
iptables-restore --noflush <<EOF
*filter
-N Y
-N Z
-A Y -j ACCEPT
-A Z -j ACCEPT
-X
COMMIT
EOF
iptables-restore --noflush <<EOF
*filter
-X X
-A INPUT -j X
COMMIT
EOF
