# Mixed: -X ordering, restore syntax corner cases.
iptables -P INPUT ACCEPT
iptables -P OUTPUT DROP
iptables -A FORWARD -j ACCEPT
iptables -N U1
iptables -X -v
iptables -X OUTPUT -v
iptables -X FORWARD -v
iptables -A INPUT -j ACCEPT
iptables -D NOPE -v -j ACCEPT
iptables -C NOPE -v -j ACCEPT
iptables -R NOPE 1 -v -j ACCEPT
iptables -R INPUT 9 -v -j ACCEPT
iptables -I NOPE -v -j ACCEPT
iptables -I INPUT 3 -v -j ACCEPT
iptables -I INPUT 2 -v -j DROP
iptables -D INPUT 5 -v
iptables -S INPUT
iptables -N QUEUE
iptables -N RETURN
iptables -N ACCEPT
iptables -N U2
iptables -E U2 0123456789012345678901234567890
iptables -E U2 0123456789012345678901234567
iptables -E 0123456789012345678901234567 DROP
iptables -S
iptables -P OUTPUT ACCEPT -c 5 6
iptables -P OUTPUT DROP
iptables-save -c
iptables -A INPUT -s 0.0.0.0/1 -d 127.0.0.0/8
iptables -A INPUT -s 169.254.0.0/16 -d 127.0.0.2
iptables -A INPUT -s 127.0.0.1/32 -d 0.0.0.0/0
iptables -L INPUT
iptables -t nat -L INPUT -Z
iptables -t nat -S -Z
iptables-restore --noflush <<EOF
*filter
:ACCEPT - [0:0]
COMMIT
EOF
iptables-restore --noflush <<EOF
*filter
-A INPUT -j DROP
COMMIT 
EOF
iptables-restore --noflush <<EOF
*filter
-A INPUT -j DROP 
  
COMMIT
EOF
iptables-restore --noflush <<EOF
*filter
-A INPUT -j DROP
#comment
  #x
COMMIT
EOF
iptables-restore --noflush <<EOF
COMMIT
EOF
iptables-restore --noflush <<EOF


#x
EOF
iptables-restore --noflush <<EOF
*filter 
-A INPUT -j DROP
COMMIT
EOF
iptables-restore --noflush <<EOF
* filter
COMMIT
EOF
iptables-restore --noflush <<EOF
*
COMMIT
EOF
iptables-restore --noflush <<EOF
*filter
:
COMMIT
EOF
iptables-restore --noflush <<EOF
*filter
: FOO - [0:0]
COMMIT
EOF
iptables-restore --noflush <<EOF
*filter
:FOO	-	[0:0]
COMMIT
EOF
iptables-restore --noflush <<EOF
*filter
:0123456789012345678901234567890 - [0:0]
COMMIT
EOF
iptables-restore --noflush <<EOF
*filter
:a b - [0:0]
COMMIT
EOF
iptables-restore --noflush <<EOF
*filter
:-x - [0:0]
COMMIT
EOF
iptables-restore -c --noflush <<EOF
*filter
[1:2] -N NEWC
COMMIT
EOF
iptables-restore -c --noflush <<EOF
*filter
[:] -A INPUT
COMMIT
EOF
iptables-restore -c --noflush <<EOF
*filter
[1:] -A INPUT
COMMIT
EOF
iptables-restore -c --noflush <<EOF
*filter
[1:2]-A INPUT
COMMIT
EOF
iptables-restore --noflush <<EOF
*filter
-6 -A INPUT -j DROP
-4 -A INPUT -j ACCEPT
COMMIT
EOF
iptables -S INPUT
iptables-restore --noflush <<EOF
*filter
-A INPUT -m comment --comment "a b\" c" -j DROP
-A INPUT -m comment --comment a\"b
COMMIT
EOF
iptables -S INPUT
iptables -N Z
iptables -N A
iptables -N M
iptables -A Z -j ACCEPT
iptables -A A -j ACCEPT
iptables -F -v
iptables -X -v
iptables -A Z -j ACCEPT
iptables -A A -j ACCEPT
iptables -X
iptables -E Z B
iptables -F -v
iptables -L
iptables-save
iptables-restore --noflush <<EOF
*filter
:Q - [0:0]
:C - [0:0]
COMMIT
EOF
iptables -F -v
iptables -Z -v
iptables -X -v
